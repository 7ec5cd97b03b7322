// Ports of the set's Jinja templates to Nunjucks 3.2.4 and Nunjitsu: the same files, with the
// mechanical translations below applied at load, and the helpers (filters, tests, globals) the
// templates use that an engine lacks. Every output is then checked byte for byte against the core.
//
// The translations (see `translations` and ENGINE_TRANSLATIONS below) rewrite only what an engine
// cannot read, outside raw blocks and string literals; lib/port.js reports how often each applied.
// Helpers with minijinja's semantics: the svcgen filters (lib/filters.js), `split` and `items`
// filters, `startingwith` / `endingwith` tests, a `dict(mapping, key=value)` global.
'use strict';

const { svcgenFilters } = require('./filters');

/**
 * Splits template source into segments: `text`, `raw` (a whole `{% raw %}…{% endraw %}` block),
 * `comment`, `var` (`{{ … }}`) and `block` (`{% … %}`). Concatenating `src` gives the source back.
 */
function tokenize(source) {
  const out = [];
  let i = 0;
  const open = /\{\{|\{%|\{#/g;
  while (i < source.length) {
    open.lastIndex = i;
    const m = open.exec(source);
    if (!m) {
      out.push({ kind: 'text', src: source.slice(i) });
      break;
    }
    if (m.index > i) out.push({ kind: 'text', src: source.slice(i, m.index) });
    const start = m.index;
    if (m[0] === '{#') {
      const end = source.indexOf('#}', start + 2);
      out.push({ kind: 'comment', src: source.slice(start, end + 2) });
      i = end + 2;
      continue;
    }
    const close = m[0] === '{{' ? '}}' : '%}';
    const end = findClose(source, start + 2, close);
    const src = source.slice(start, end + 2);
    if (m[0] === '{%' && /^\{%-?\s*raw\s*-?%\}$/.test(src)) {
      const endRaw = /\{%-?\s*endraw\s*-?%\}/g;
      endRaw.lastIndex = end + 2;
      const e = endRaw.exec(source);
      out.push({ kind: 'raw', src: source.slice(start, e.index + e[0].length), open: src, body: source.slice(end + 2, e.index), close: e[0] });
      i = e.index + e[0].length;
      continue;
    }
    out.push({ kind: m[0] === '{{' ? 'var' : 'block', src });
    i = end + 2;
  }
  return out;
}

/** Index of the closing delimiter, skipping string literals. */
function findClose(source, from, close) {
  let quote = null;
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (source.startsWith(close, i)) return i;
  }
  throw new Error(`unclosed ${close}`);
}

/** Applies `fn` to the code of a tag with its string literals masked (put back afterwards). */
function mapCode(src, fn) {
  const strings = [];
  let masked = '';
  let quote = null;
  let literal = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      literal += c;
      if (c === '\\') literal += src[++i];
      else if (c === quote) {
        masked += `\u0001${strings.push(literal) - 1}\u0001`;
        quote = null;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      literal = c;
    } else masked += c;
  }
  if (quote) throw new Error(`unclosed string in ${src}`);
  return fn(masked).replace(/\u0001(\d+)\u0001/g, (_, n) => strings[n]);
}

const SLICE = /([\w)\]])\[\s*(-?\d+)?\s*:\s*(-?\d+)?\s*\]/g;
const TESTS = /([\w.)\]]+)\s+is\s+(startingwith|endingwith)\s*\(/g;
const TRAILING_COMMA = /,(\s*[}\]])/g;
const INCLUDE = /^\{%(-?)\s*include\s+(['"])([^'"]+)\2\s*(-?)%\}$/;
const IMPORT = /^\{%(-?)\s*import\s+(['"])([^'"]+)\2\s+as\s+(\w+)\s*(-?)%\}$/;
const MACRO = /\{%-?\s*macro\s[\s\S]*?\{%-?\s*endmacro\s*-?%\}/g;
const SET = /\{%-?\s*set\s+\w+\s*=[\s\S]*?-?%\}/g;

/** Splits call arguments at top-level commas (the code has no strings: they are masked). */
function splitArgs(code) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const c of code) {
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/** Index of the parenthesis or bracket closing the one at `open`. */
function matching(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if ('([{'.includes(code[i])) depth++;
    else if (')]}'.includes(code[i]) && --depth === 0) return i;
  }
  return -1;
}

/** A list operand at `i`: `[…]` or `(` + `[…] …` + `)`; returns its end (exclusive) or -1. */
function listOperand(code, i) {
  if (code[i] === '[') return matching(code, i) + 1 || -1;
  if (code[i] === '(' && /^\(\s*\[/.test(code.slice(i))) return matching(code, i) + 1 || -1;
  return -1;
}

/** `L1 + L2 + …` where each operand is a list literal or a parenthesised expression starting with one. */
function concatLists(code) {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const end = listOperand(code, i);
    if (end < 0 || (i > 0 && /[\w.)\]]/.test(code[i - 1]))) {
      out += code[i++];
      continue;
    }
    let expr = code.slice(i, end);
    let j = end;
    let m;
    while ((m = /^\s*\+\s*/.exec(code.slice(j)))) {
      const k = j + m[0].length;
      let e2 = listOperand(code, k);
      // `[…] + name | filter | …`: filters bind tighter than `+`, so the operand runs to the end
      // of the enclosing brackets.
      if (e2 < 0 && /^\[/.test(expr)) {
        let end = k;
        for (let d = 0; end < code.length; end++) {
          if ('([{'.includes(code[end])) d++;
          else if (')]}'.includes(code[end]) && d-- === 0) break;
        }
        if (/^\s*[\w.]+(\s*\|\s*\w+\s*)*$/.test(maskNested(code.slice(k, end)))) e2 = end;
      }
      if (e2 < 0) break;
      expr = `${/^\[/.test(expr) ? `(${expr})` : expr}.concat(${code.slice(k, e2)})`;
      j = e2;
    }
    // A parenthesised group no `+` follows: its inside may hold a concatenation.
    if (j === end && code[i] === '(') expr = `(${concatLists(code.slice(i + 1, end - 1))})`;
    out += expr;
    i = j;
  }
  return out;
}

/** `dict(m, K=v)` → `dict(m, {'K': v})`, arguments of any depth. */
function dictKeywords(code) {
  const m = /\bdict\(/.exec(code);
  if (!m) return code;
  const open = m.index + m[0].length - 1;
  const close = matching(code, open);
  if (close < 0) return code;
  const parts = splitArgs(dictKeywords(code.slice(open + 1, close)));
  const kw = parts.filter((a) => /^\s*\w+\s*=(?!=)/.test(a));
  const pos = parts.filter((a) => !kw.includes(a)).map((a) => a.trim());
  const pairs = kw.map((a) => a.replace(/^\s*(\w+)\s*=\s*/, "'$1': ").trim());
  const call = kw.length ? `dict(${[...pos, `{${pairs.join(', ')}}`].join(', ')})` : `dict(${parts.join(',')})`;
  return code.slice(0, m.index) + call + dictKeywords(code.slice(close + 1));
}

/** `name + [...]` → `name.concat([...])`: a list held by a name, extended by a list literal. */
function nameConcat(code) {
  const m = /(^|[^\w.\u0001])([A-Za-z_][\w.]*)\s*\+\s*\[/.exec(code);
  if (!m || /^(and|or|not|in|is|if|else)$/.test(m[2])) return code;
  const open = m.index + m[0].length - 1;
  const close = matching(code, open);
  if (close < 0) return code;
  const start = m.index + m[1].length;
  return `${code.slice(0, start)}${m[2]}.concat(${code.slice(open, close + 1)})${nameConcat(code.slice(close + 1))}`;
}

/** `{k1: v1, …}` with a computed key → `dict_pairs([[k1, v1], …])` (a helper global). */
function computedKeys(code) {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const start = code.indexOf('{', i);
    if (start < 0) break;
    const end = matching(code, start);
    if (end < 0) break;
    const entries = splitArgs(code.slice(start + 1, end)).filter((e) => e.trim());
    const pairs = entries.map((e) => {
      const masked = maskNested(e);
      const colon = masked.indexOf(':');
      return colon < 0 ? null : [e.slice(0, colon).trim(), e.slice(colon + 1).trim()];
    });
    const literalKey = (k) => /^(\u0001\d+\u0001|\w+)$/.test(k);
    if (pairs.every(Boolean) && pairs.some(([k]) => !literalKey(k))) {
      out += `${code.slice(i, start)}dict_pairs([${pairs.map(([k, v]) => `[${k}, ${computedKeys(v)}]`).join(', ')}])`;
    } else {
      out += `${code.slice(i, start)}{${computedKeys(code.slice(start + 1, end))}}`;
    }
    i = end + 1;
  }
  return out + code.slice(i);
}

/** `{1: a, 2: b}[i]` → `{'1': a, '2': b}[(i) | string]`: a dict literal with number keys, indexed. */
function numberKeys(code) {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const m = /\{\s*-?\d+\s*:/.exec(code.slice(i));
    if (!m) break;
    const start = i + m.index;
    const end = matching(code, start);
    if (end < 0) break;
    const dict = code.slice(start, end + 1).replace(/([{,]\s*)(-?\d+)(\s*:)/g, "$1'$2'$3");
    let after = end + 1;
    let index = '';
    if (code[after] === '[') {
      const close = matching(code, after);
      index = `[(${code.slice(after + 1, close)}) | string]`;
      after = close + 1;
    }
    out += code.slice(i, start) + dict + index;
    i = after;
  }
  return out + code.slice(i);
}

/** `a if b else c if d else e` → `a if b else (c if d else e)`: the else branch of a chained conditional, parenthesised. */
function chainedIfs(code) {
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    if ('([{'.includes(code[i])) depth++;
    else if (')]}'.includes(code[i])) depth--;
    const m = /^\belse\s+/.exec(code.slice(i));
    if (!m || (i > 0 && /\w/.test(code[i - 1]))) continue;
    // The else branch: up to a closer of an outer level, a comma at this level, or the end.
    const from = i + m[0].length;
    let d = 0;
    let end = from;
    for (; end < code.length; end++) {
      if ('([{'.includes(code[end])) d++;
      else if (')]}'.includes(code[end])) {
        if (d === 0) break;
        d--;
      } else if (code[end] === ',' && d === 0) break;
    }
    const branch = code.slice(from, end);
    if (!/(^|[^\w])if\s/.test(maskNested(branch))) continue;
    const inner = branch.replace(/\s+$/, '');
    return `${code.slice(0, from)}(${chainedIfs(inner)})${branch.slice(inner.length)}${chainedIfs(code.slice(end))}`;
  }
  return code;
}

/** `code` with every bracketed part blanked, so that only its top level is searched. */
function maskNested(code) {
  let depth = 0;
  let out = '';
  for (const c of code) {
    if ('([{'.includes(c)) depth++;
    out += depth ? ' ' : c;
    if (')]}'.includes(c)) depth--;
  }
  return out;
}

/**
 * The translations, by name: `code` ones rewrite the code of `{{ }}` / `{% %}` tags (outside string
 * literals), `source` ones the template source around them.
 */
const translations = {
  // Nunjucks: no slice syntax; a JavaScript string's or array's slice() is the same operation.
  slices: { code: (code) => code.replace(SLICE, (_, b, x, y) => `${b}.slice(${x ?? 0}${y === undefined ? '' : `, ${y}`})`) },
  // Nunjucks and Nunjitsu refuse a trailing comma in list and dict literals.
  trailingCommas: { code: (code) => code.replace(TRAILING_COMMA, '$1') },
  // Nunjitsu: no custom tests; strings' startsWith / endsWith are available.
  testsToMethods: {
    code: (code) => code.replace(TESTS, (_, x, t) => `${x}.${t === 'startingwith' ? 'startsWith' : 'endsWith'}(`),
  },
  // Nunjitsu: globals take no keyword arguments: dict(m, K=v) → dict(m, {'K': v}).
  dictKeywords: { code: dictKeywords },
  // Nunjucks and Nunjitsu: dict keys are strings or names; a number-keyed dict literal and its index
  // become strings.
  numberKeys: { code: numberKeys },
  // Nunjucks and Nunjitsu: `*` on a string is JavaScript's (a number): 'x' * n → 'x' | repeat(n) (a helper).
  stringRepeat: {
    code: (code) =>
      code.replace(/(\u0001\d+\u0001)\s*\*\s*(\((?:[^()]|\([^()]*\))*\)|[\w.]+)/g, '$1 | repeat($2)'),
  },
  // Nunjitsu: select and rejectattr take only its own tests: with `in`, helpers do the same.
  // (A `tag` translation: it reads the test's name, a string literal.)
  inTests: {
    tag: (src) =>
      src
        .replace(/\bselect\(\s*(['"])in\1\s*,\s*/g, 'select_in(')
        .replace(/\brejectattr\(\s*((['"])[^'"]*\2)\s*,\s*(['"])in\3\s*,\s*/g, 'rejectattr_in($1, '),
  },
  // Jinja2: an imported template sees the importer's variables only `with context` (minijinja's always do).
  importContext: { tag: (src) => src.replace(/^(\{%-?\s*import\s+(['"])[^'"]+\2\s+as\s+\w+)(\s*-?%\})$/, '$1 with context$3') },
  // Nunjitsu: filters take no keyword arguments: map(attribute=x) → map_attribute(x) (a helper).
  mapAttribute: { code: (code) => code.replace(/\bmap\(\s*attribute\s*=\s*([^)]*)\)/g, 'map_attribute($1)') },
  // Nunjitsu and Nunjucks: a conditional expression's else branch cannot be another one unparenthesised.
  chainedIfs: { code: chainedIfs },
  // Nunjucks and Nunjitsu: `+` on two lists is JavaScript's + (string concatenation): concat().
  listConcat: { code: (code) => nameConcat(concatLists(code)) },
  // Nunjitsu: a dict literal's keys are strings or names; one with a computed key is built by a helper.
  computedKeys: { code: computedKeys },
  // Nunjucks and Nunjitsu: an empty list or dict is true (JavaScript). A name the template sets to
  // a list or dict, used as a whole condition of if/elif, becomes `(name | length)`.
  collectionTruth: { collectionTruth: true },
  // Nunjucks keeps the newline after {% endraw %} that trim_blocks removes.
  endrawNewline: { afterRaw: 'close' },
  // Jinja2 keeps the newline after {% raw %} that trim_blocks removes in minijinja.
  rawNewline: { afterRaw: 'open' },
  // Nunjucks and Nunjitsu keep the newline after a {# comment #} that trim_blocks removes.
  commentNewline: { afterComment: true },
  // Nunjitsu renders one inline source (no loader): includes are replaced by the included source,
  // and `{% import 'x' as ns %}` by x's macro definitions, called without the `ns.` prefix.
  inlineIncludes: { include: true },
};

/** Which translations each engine gets. */
const ENGINE_TRANSLATIONS = {
  jinja2: ['rawNewline', 'importContext'],
  nunjucks: ['slices', 'trailingCommas', 'numberKeys', 'chainedIfs', 'stringRepeat', 'listConcat', 'collectionTruth', 'endrawNewline', 'commentNewline'],
  // Nunjitsu slices a string into an array of characters: slices become slice() as for Nunjucks.
  nunjitsu: ['slices', 'trailingCommas', 'numberKeys', 'chainedIfs', 'stringRepeat', 'mapAttribute', 'inTests', 'computedKeys', 'testsToMethods', 'dictKeywords', 'listConcat', 'collectionTruth', 'endrawNewline', 'commentNewline', 'inlineIncludes'],
};

/**
 * The set's templates for `engine`, translated; `counts` receives how often each translation
 * changed something.
 */
function portTemplates(engine, templates, counts = {}) {
  const names = ENGINE_TRANSLATIONS[engine];
  if (!names) throw new Error(`no port for ${engine}`);
  const used = names.map((n) => [n, translations[n]]);
  const count = (n) => (counts[n] = (counts[n] || 0) + 1);
  const cache = new Map();
  function port(name, stack) {
    if (cache.has(name)) return cache.get(name);
    if (stack.includes(name)) throw new Error(`include cycle: ${[...stack, name].join(' → ')}`);
    const source = templates[name];
    if (source === undefined) throw new Error(`no template ${name}`);
    const parts = tokenize(source);
    // Names this template sets to a list or a dict (for collectionTruth).
    const collections = new Set();
    if (used.some(([, t]) => t.collectionTruth)) {
      for (const p of parts) {
        const m = p.kind === 'block' && /^\{%-?\s*set\s+(\w+)\s*=\s*(.*?)\s*-?%\}$/s.exec(mapCode(p.src, (c) => c));
        if (m && /^(\(\s*)*(\[|\{|dict\()/.test(mapCode(m[2], (c) => c.replace(/\u0001\d+\u0001/g, "''")))) collections.add(m[1]);
      }
    }
    let text = '';
    const namespaces = [];
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      if (p.kind === 'block' && IMPORT.test(p.src) && used.some(([, t]) => t.include)) {
        // The imported template's output is discarded; only its macros and top-level variables
        // are kept (they take no output of their own), then `ns.macro(` and `ns.name` become
        // `macro(` and `name`.
        const [, trimBefore, , imported, ns, trimAfter] = IMPORT.exec(p.src);
        text = trimBefore ? text.replace(/\s+$/, '') : text.replace(/(^|\n)[ \t]+$/, '$1');
        const importedSource = port(imported, [...stack, name]);
        text += (importedSource.match(MACRO) || []).join('');
        text += (importedSource.replace(MACRO, '').match(SET) || []).join('');
        namespaces.push(ns);
        const next = parts[k + 1];
        if (next && next.kind === 'text') next.src = trimAfter ? next.src.replace(/^\s+/, '') : next.src.replace(/^\n/, '');
        count('inlineIncludes');
      } else if (p.kind === 'block' && INCLUDE.test(p.src) && used.some(([, t]) => t.include)) {
        // The included template's output takes the tag's place; the whitespace the tag's own
        // trimming removes (lstrip_blocks before it, trim_blocks after it, or `-`) is removed here.
        const [, trimBefore, , included, trimAfter] = INCLUDE.exec(p.src);
        text = trimBefore ? text.replace(/\s+$/, '') : text.replace(/(^|\n)[ \t]+$/, '$1');
        text += port(included, [...stack, name]);
        const next = parts[k + 1];
        if (next && next.kind === 'text') next.src = trimAfter ? next.src.replace(/^\s+/, '') : next.src.replace(/^\n/, '');
        count('inlineIncludes');
      } else if (p.kind === 'comment') {
        text += p.src;
        const next = parts[k + 1];
        if (used.some(([, t]) => t.afterComment) && !/-#\}$/.test(p.src) && next && next.kind === 'text' && next.src.startsWith('\n')) {
          next.src = next.src.slice(1);
          count('commentNewline');
        }
      } else if (p.kind === 'var' || p.kind === 'block') {
        let src = p.src;
        for (const ns of namespaces) src = mapCode(src, (code) => code.replace(new RegExp(`\\b${ns}\\.(\\w+)`, 'g'), '$1'));
        if (collections.size && /^\{%-?\s*(if|elif)\s/.test(src)) {
          const next = mapCode(src, (code) =>
            code.replace(/^(\{%-?\s*(?:if|elif)\s+)(\w+)(\s*-?%\})$/, (all, a, name, b) => (collections.has(name) ? `${a}(${name} | length)${b}` : all)),
          );
          if (next !== src) count('collectionTruth');
          src = next;
        }
        for (const [n, t] of used) {
          if (!t.code && !t.tag) continue;
          const next = t.tag ? t.tag(src) : mapCode(src, t.code);
          if (next !== src) count(n);
          src = next;
        }
        text += src;
      } else if (p.kind === 'raw') {
        let { open, body, close } = p;
        for (const [n, t] of used) {
          if (t.afterRaw === 'open' && !/-%\}$/.test(open) && body.startsWith('\n')) {
            body = body.slice(1);
            count(n);
          }
          const next = parts[k + 1];
          if (t.afterRaw === 'close' && !/-%\}$/.test(close) && next && next.kind === 'text' && next.src.startsWith('\n')) {
            next.src = next.src.slice(1);
            count(n);
          }
        }
        text += open + body + close;
      } else text += p.src;
    }
    cache.set(name, text);
    return text;
  }
  const out = {};
  for (const name of Object.keys(templates)) out[name] = port(name, []);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers the templates use that Nunjucks / Nunjitsu lack, with minijinja's behaviour.

/** minijinja's `split` as the templates use it: by a separator, or on runs of whitespace. */
function split(s, sep) {
  if (arguments.length > 2) throw new Error('split: maxsplit is not ported');
  s = String(s);
  return sep === undefined || sep === null ? s.split(/\s+/).filter((x) => x !== '') : s.split(sep);
}

/** minijinja's `items`: [key, value] pairs of a mapping. */
const items = (obj) => (obj instanceof Map ? [...obj.entries()] : Object.entries(obj ?? {}));

/** Jinja's `dict(mapping, key=value, …)`; Nunjucks passes keyword arguments as a last object. */
function dict(...args) {
  const out = {};
  for (const arg of args) {
    if (arg && typeof arg === 'object') {
      for (const [k, v] of arg instanceof Map ? arg.entries() : Object.entries(arg)) {
        if (k !== '__keywords') out[k] = v;
      }
    }
  }
  return out;
}

/** The filters `map('name', …)` applies in the set's templates, with minijinja's behaviour. */
const mappable = {
  first: (x) => [...x][0],
  float: (x) => Number(x),
  int: (x) => Math.trunc(Number(x)),
  length: (x) => (x instanceof Map ? x.size : x.length),
  replace: (x, a, b) => String(x).split(a).join(b),
  split: (x, sep) => split(x, sep),
  hcl_str: (x) => svcgenFilters.hcl_str(x),
};

/** minijinja's `map('filter', …)`. */
function map(list, name, ...args) {
  if (!mappable[name]) throw new Error(`map: no filter ${name} in the port`);
  return [...list].map((x) => mappable[name](x, ...args));
}

/** minijinja's `map(attribute=…)`, which `mapAttribute` writes as `map_attribute(…)`. */
const map_attribute = (list, attr) => [...list].map((x) => (x instanceof Map ? x.get(attr) : x[attr]));

/** minijinja's `max` and `min` of a list (numbers here). */
const max = (list) => [...list].reduce((a, b) => (a === undefined || b > a ? b : a), undefined);
const min = (list) => [...list].reduce((a, b) => (a === undefined || b < a ? b : a), undefined);
/** minijinja's `select('in', container)` and `rejectattr(attr, 'in', container)`. */
const select_in = (list, container) => [...list].filter((x) => helperTests.in(x, container));
const rejectattr_in = (list, attr, container) =>
  [...list].filter((x) => !helperTests.in(x instanceof Map ? x.get(attr) : x[attr], container));

/** minijinja's `lines` (Rust's str::lines: no last empty line, `\r\n` ends a line too). */
function lines(text) {
  const parts = String(text).split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** minijinja's `text * n`. */
const repeat = (text, n) => String(text).repeat(Math.max(0, Math.trunc(n)));
const helperFilters = { ...svcgenFilters, split, items, max, min, map, map_attribute, repeat, select_in, rejectattr_in, lines };
const helperTests = {
  startingwith: (s, prefix) => String(s).startsWith(prefix),
  endingwith: (s, suffix) => String(s).endsWith(suffix),
  // minijinja's `in` test: a substring of a string, an item of a list, a key of a map.
  in: (x, container) =>
    typeof container === 'string' ? container.includes(String(x)) : container instanceof Map ? container.has(x) : Array.isArray(container) ? container.includes(x) : Object.hasOwn(container ?? {}, x),
};
/** A dict from [key, value] pairs, in order (for dict literals with computed keys). */
const dict_pairs = (pairs) => Object.fromEntries(pairs);
const helperGlobals = { dict, dict_pairs };

module.exports = { tokenize, portTemplates, ENGINE_TRANSLATIONS, helperFilters, helperTests, helperGlobals };
