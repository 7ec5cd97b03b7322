// results.json → results.md: the tables BENCHMARKS.md quotes.
'use strict';

const f = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const ms = (s, d = 3) => `${f(s.median, d)} (${f(s.p10, d)}–${f(s.p90, d)})`;
const ratio = (a, b) => `${f(a / b, 2)}×`;
const yes = (ok) => (ok ? '**met**' : '**missed**');
/** The line of a worker's failure that says what went wrong (not the stack, not the Node version). */
const firstLine = (text) => {
  const lines = String(text || '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && !/failed \(\d+\):$/.test(l));
  return (lines.find((l) => /error/i.test(l) && !/^throw /.test(l)) || lines[0] || 'error').slice(0, 160);
};

function markdown(r, labels) {
  const out = [];
  const e = r.environment;
  out.push(`# svcgen benchmark results${r.quick ? ' (quick run: fewer runs, not for quoting)' : ''}`, '');
  out.push(`${e.date} · ${e.cpu} · ${e.memoryGiB} GiB · ${e.os} · Node ${e.node} · ${e.python} · ${e.rustc}`);
  out.push(`minijinja ${e.minijinja} · Jinja2 ${e.jinja2} · Nunjucks ${e.nunjucks} · Nunjitsu ${e.nunjitsu} · svcgen_bg.wasm ${e.wasmBytes} bytes · commit ${e.gitHead}${e.templatesDirty ? ' (templates/ with uncommitted changes)' : ''}`);
  out.push(`Load average (1, 5, 15 min): ${r.loadAtStart.join(', ')} at start, ${r.loadAtEnd.join(', ')} at end${r.waitQuiet ? ` (waited ${r.waitQuiet.waitedMin} min for a load below ${r.waitQuiet.limit}: ${r.waitQuiet.reached ? 'reached' : 'not reached'})` : ''}.`, '');
  if (r.phases) {
    out.push(`Load average (1 min) when each part started: ${Object.entries(r.phases).map(([k, v]) => `part ${k} ${v.loadAtStart[0]}`).join(', ')} (parts: 2 warm, 3 cold, 3b Node 22, 4 growth, 5 memory, 6 profile, 7 Backstage).`, '');
  }
  const s = r.set;
  out.push(`Set \`${s.name}\` ${s.version}: ${s.setFiles} files (${s.templates} templates); for ${s.values}: ${s.outputFiles} output files (${s.renderedFiles} rendered), ${s.outputBytes} bytes.`, '');

  const n = r.warm.native.median;
  const nc = r.cold.native.inProcess.median;
  const same = (engine) => {
    if (engine === 'native') return r.nativeHashEqualsWasm ? 'yes (same bytes as WASM)' : '**no**';
    if (engine === 'wasm') return 'reference';
    const rows = r.checks.filter((c) => c.engine === engine);
    const eq = rows.reduce((a, c) => a + c.equal, 0);
    const all = rows.reduce((a, c) => a + c.files, 0);
    return `${eq}/${all} files${eq === all ? '' : ' **differ**'}`;
  };
  out.push('## Full set, one render (ms; median, p10–p90)', '');
  out.push(`| engine | warm | × native | cold: load + compile + first render | × native | cold process, wall | byte-equal output (${new Set(r.checks.map((c) => c.values)).size} value sets) |`);
  out.push('|---|---|---|---|---|---|---|');
  for (const engine of ['native', 'wasm', 'nunjucks', 'nunjitsu', 'jinja2']) {
    const w = r.warm[engine];
    const c = r.cold[engine];
    if (w.error || !c.inProcess) {
      out.push(`| ${labels[engine]} | failed: ${firstLine(w.error || c.error)} | | | | | ${same(engine)} |`);
      continue;
    }
    out.push(`| ${labels[engine]} | ${ms(w)} | ${ratio(w.median, n)} | ${ms(c.inProcess, 2)} | ${ratio(c.inProcess.median, nc)} | ${f(c.wall.median, 1)} | ${same(engine)} |`);
  }
  out.push('');
  const parts = (engine) => Object.entries(r.cold[engine].parts || {}).map(([k, v]) => `${k.replace(/Ms$/, '')} ${f(v, 1)}`).join(', ');
  out.push(`Cold, medians of the parts (ms): ${['wasm', 'nunjucks', 'nunjitsu', 'jinja2'].map((e) => `${e}: ${parts(e)}`).join('; ')}.`, '');
  out.push(`Warm runs per engine: ${Object.entries(r.warm).filter(([k, v]) => k !== 'actionEngine' && !v.error).map(([k, v]) => `${k} ${v.runs}`).join(', ')}; cold: ${r.cold.native.inProcess.runs} fresh processes each, interleaved. Empty process for comparison: \`node -e ''\` ${f(r.cold.emptyProcess.node.median, 1)} ms, \`python -c ''\` ${f(r.cold.emptyProcess.python.median, 1)} ms.`);
  const a = r.warm.actionEngine;
  out.push(`The action's step outside Backstage, in its two halves (plugin-ts, warm; each set compiled before timing, as the backend module's warm-up does at startup): \`SvcgenEngine.render\` of the built-in set (validation and render in WASM only: built-in sets are never re-checked) ${ms(a.builtIn)} ms, and of the same set in a configured folder (plus one parallel round of \`stat\` of its ${a.configured.watched} files and folders, to see whether it changed) ${ms(a.configured)} ms; \`writeOutput\` of the ${s.outputFiles} files into an empty folder (each folder checked and created once, then the files written 16 at a time) ${ms(a.write)} ms.${a.builtIn.sameOutput ? '' : ' **The built-in set renders differently from the configured copy: plugin-ts/templates is older than templates/.**'}`, '');

  if (r.node22) {
    const z = r.node22;
    out.push(`### The Node engines on Node ${z.version} (the line Backstage supports)`, '');
    out.push('| engine | warm | × native | cold: load + compile + first render | × native |', '|---|---|---|---|---|');
    for (const engine of ['wasm', 'nunjucks', 'nunjitsu'].filter((e) => z.warm[e] && !z.warm[e].error)) {
      out.push(`| ${labels[engine]} | ${ms(z.warm[engine])} | ${ratio(z.warm[engine].median, n)} | ${ms(z.cold[engine], 2)} | ${ratio(z.cold[engine].median, nc)} |`);
    }
    out.push('');
  }

  if (r.cli) {
    out.push('### The preview CLI, fresh processes (ms; median, p10–p90)', '');
    out.push(`The core's cold start as the worker above times it, with V8's defaults and with the flag the CLI's entry point sets (${r.cli[Object.keys(r.cli)[0]].flags.join(' ')}); then the whole \`svcgen-preview --values ${s.values} --out DIR\` run (Node's start, reading the set, validating and rendering, writing ${s.outputFiles} files), as wall time.`, '');
    out.push('| Node | cold start, V8 defaults | cold start, CLI flags | process wall, CLI flags | whole CLI run, wall |', '|---|---|---|---|---|');
    for (const [version, c] of Object.entries(r.cli)) {
      out.push(`| ${version} | ${ms(c.defaults, 1)} | ${ms(c.cliFlags, 1)} | ${ms(c.cliFlagsWall, 1)} | ${ms(c.run, 1)} |`);
    }
    out.push('');
  }

  out.push('## Growth with the set (warm render, ms)', '');
  out.push('| set | set files | output files | output bytes | WASM render | per output file (µs) | native render | WASM / native |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const g of r.growth) {
    out.push(`| ×${g.times} | ${g.setFiles} | ${g.outputFiles} | ${g.outputBytes} | ${ms(g.wasm.render)} | ${f((g.wasm.render.median * 1000) / g.outputFiles, 1)} | ${ms(g.native.render)} | ${ratio(g.wasm.render.median, g.native.render.median)} |`);
  }
  out.push('');
  out.push(`### Loading (ms, fresh processes, ${r.growth[0].load.wasm.first.runs} of each kind)`, '');
  out.push(require('./load').loadTable(r.growth.map((g) => g.load)), '');

  const m = r.memory;
  out.push('## Memory over renders in one process', '');
  out.push(`${m.renders} renders (${f(m.msPerRender, 3)} ms each, GC forced before each sample). Samples every ${m.every}:`, '');
  out.push('| renders | RSS MiB | V8 heap used MiB | external MiB | WASM linear memory MiB |', '|---|---|---|---|---|');
  for (const x of m.samples.filter((x, i) => i % 2 === 0 || i === m.samples.length - 1)) {
    out.push(`| ${x.renders} | ${x.rssMiB} | ${x.heapUsedMiB} | ${x.externalMiB} | ${x.wasmMemoryMiB} |`);
  }
  out.push('', `After warm-up (from ${m.every} renders on): RSS ${m.afterWarmup.rssGrowthMiB >= 0 ? '+' : ''}${m.afterWarmup.rssGrowthMiB} MiB first→last (range ${m.afterWarmup.rssRangeMiB} MiB), heap ${m.afterWarmup.heapUsedGrowthMiB} MiB, WASM memory ${m.afterWarmup.wasmMemoryGrowthMiB} MiB.`, '');

  const p = r.profile;
  out.push('## Profile: each call of the binding, WASM against the same call natively (ms, median)', '');
  out.push('| call | WASM | native | WASM / native |', '|---|---|---|---|');
  for (const k of ['validate', 'plan', 'render', 'load']) out.push(`| ${k} | ${f(p.wasm[k].median, 3)} | ${f(p.native[k].median, 3)} | ${ratio(p.wasm[k].median, p.native[k].median)} |`);
  out.push(`| a call that only crosses (\`info()\`) | ${f(p.wasm.info.median, 4)} | – | |`);
  out.push(`| host: values → JSON (${p.wasm.valuesJsonBytes} B) | ${f(p.wasm.hostStringifyValues.median, 4)} | – | |`);
  out.push(`| host: output metadata JSON.parse (${p.wasm.outputJsonBytes} B) | ${f(p.wasm.hostParseOutputJson.median, 4)} | – | |`);
  out.push(`| host: copy of the output bytes (${p.wasm.dataBytes} B) | ${f(p.wasm.hostCopyBytes.median, 4)} | – | |`, '');

  const b = r.backstage;
  out.push('## Inside the example Backstage backend (ms)', '');
  if (b.summary) {
    const a = b.summary.action;
    const t = b.summary.fetch;
    out.push(`${b.tasksPerKind} tasks of each kind, in rotation, after warm-up; one step each; ${b.files} files, ${b.bytes} bytes (skeleton for fetch:template: ${b.skeletonFiles} files, ${b.skeletonBytes} bytes). Node ${b.node}; backend RSS at the end ${b.backendRssMiB} MiB.`, '');
    out.push('| | svcgen:render | fetch:template | fetch / svcgen |', '|---|---|---|---|');
    const row = (label, key, d = 1) => out.push(`| ${label} | ${ms(a[key], d)} | ${ms(t[key], d)} | ${ratio(t[key].median, a[key].median)} |`);
    row("step (scaffolder's own hrtime histogram)", 'step');
    out.push(`| the action's own log line ("… in N ms") | ${ms(a.actionLog, 0)} | – | |`);
    row("task (scaffolder's histogram)", 'task');
    row('POST → `completed` seen by the client (polling every 2 ms)', 'postToCompleted');
    out.push(`| log rows stored per task | ${a.logEvents} | ${t.logEvents} | |`);
    const eq = (c) => (c && c.files ? `${c.equal}/${c.files}` : `not checked (${c && c.error})`);
    out.push('', `Dry-run output equal to the core's: svcgen:render ${eq(b.check.action)}, fetch:template ${eq(b.check.fetchTemplate)}.`, '');
  } else {
    out.push(`Not measured: ${b.skipped || b.blocked || b.failed}`, '');
  }

  out.push('## Targets', '');
  const w = r.warm;
  const others = ['nunjucks', 'nunjitsu', 'jinja2'];
  // Engines that could not render the set (their ports lag behind it) are left out, and named.
  const rendered = others.filter((x) => !w[x].error && r.cold[x].inProcess);
  const failed = others.filter((x) => !rendered.includes(x));
  const warmBest = Math.min(...rendered.map((x) => w[x].median));
  const coldBest = Math.min(...rendered.map((x) => r.cold[x].inProcess.median));
  const wasmCold = r.cold.wasm.inProcess.median;
  out.push('| target | measured | |', '|---|---|---|');
  out.push(`| WASM warm within 1.5× of native (issue 18) | ${ratio(w.wasm.median, n)} | ${yes(w.wasm.median / n <= 1.5)} |`);
  out.push(`| WASM warm ≤ 0.35 ms, native's time on the first benchmark machine (issue 18) | ${f(w.wasm.median, 3)} ms | ${yes(w.wasm.median <= 0.35)} |`);
  if (b.summary) {
    out.push(`| action step ≥ 10× faster than fetch:template | ${ratio(b.summary.fetch.step.median, b.summary.action.step.median)} | ${yes(b.summary.fetch.step.median / b.summary.action.step.median >= 10)} |`);
  }
  else out.push('| action step ≥ 10× faster than fetch:template | not measured | |');
  out.push(`| faster than every other engine, warm | WASM ${f(w.wasm.median, 3)} ms, of which ≈${f(p.wasm.plan.median, 3)} ms validate + derive + plan (the others get the plan and context for free); best other ${f(warmBest, 3)} ms (${ratio(warmBest, w.wasm.median)} the WASM time)${failed.length ? `; ${failed.join(', ')} could not render the set` : ''} | ${yes(w.wasm.median < warmBest)} |`);
  out.push(`| faster than every other engine, cold | WASM ${f(wasmCold, 1)} ms; best other ${f(coldBest, 1)} ms (${ratio(coldBest, wasmCold)} the WASM time)${failed.length ? `; ${failed.join(', ')} could not render the set` : ''} | ${yes(wasmCold < coldBest)} |`);
  const cliCold = r.cli && (r.cli[e.node] || Object.values(r.cli)[0]).cliFlags.median;
  out.push(`| cold CLI render (load + compile + first render, the CLI's flags) < 60 ms (issue 18) | ${f(cliCold, 1)} ms (V8 defaults ${f(wasmCold, 1)} ms) | ${yes(cliCold < 60)} |`);
  out.push(`| flat memory after warm-up | WASM memory +${m.afterWarmup.wasmMemoryGrowthMiB} MiB, RSS ${m.afterWarmup.rssGrowthMiB} MiB over ${m.renders - m.every} renders | ${yes(m.afterWarmup.wasmMemoryGrowthMiB === 0 && m.afterWarmup.rssGrowthMiB < 5)} |`);
  const g1 = r.growth[0];
  const g100 = r.growth[r.growth.length - 1];
  const perFile = (g) => g.wasm.render.median / g.outputFiles;
  const loadRatio = (g) => g.load.wasm.afterStartup.median / g.load.native.first.median;
  const firstRatio = (g) => g.load.wasm.first.median / g.load.native.first.median;
  out.push(`| WASM load within 3× of native (×1, ×10, ×100) | after the bundled set: ${r.growth.map((g) => `${loadRatio(g).toFixed(2)}×`).join(', ')}; first of a process: ${r.growth.map((g) => `${firstRatio(g).toFixed(2)}×`).join(', ')} | ${yes(r.growth.every((g) => loadRatio(g) <= 3))} |`);
  out.push(`| growth linear (×1 → ×${g100.times}) | per output file ${f(perFile(g1) * 1000, 1)} → ${f(perFile(g100) * 1000, 1)} µs (${ratio(perFile(g100), perFile(g1))}) | ${yes(perFile(g100) / perFile(g1) < 1.5)} |`);
  out.push('');

  out.push('## Ports', '');
  out.push('Translations applied at load (count of tags or places changed), by engine:', '');
  for (const [engine, counts] of Object.entries(r.translations)) {
    out.push(`- ${engine}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  }
  const bad = r.checks.filter((c) => c.error || c.differing.length || c.missing.length || c.extra.length);
  out.push('', bad.length ? `Differences: ${bad.map((c) => `${c.engine}/${c.values}: ${c.error ? c.error.split('\n')[0] : c.differing.map((d) => `${d.path} line ${d.line}`).join(', ')}`).join('; ')}` : 'Every file of every check is byte-equal to the core\'s output.');
  out.push(r.uncoveredTemplates.length ? `Templates no check renders: ${r.uncoveredTemplates.join(', ')}` : 'Every template of the set is rendered by at least one check.');
  out.push('');
  return out.join('\n');
}

module.exports = { markdown };
