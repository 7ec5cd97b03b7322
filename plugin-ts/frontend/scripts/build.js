// Builds the package: the core's browser glue into dist/wasm-web (from plugin-ts/wasm-web, which
// `bash rust/build-wasm.sh` writes), the svcgen version it belongs to, then tsc. `--clean` only
// removes dist/. SVCGEN_WEB_GLUE=<folder> takes the glue from another folder.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
if (process.argv.includes('--clean')) {
  process.exit(0);
}

const glue = resolve(process.env.SVCGEN_WEB_GLUE ?? join(here, '..', 'wasm-web'));
if (!existsSync(join(glue, 'svcgen.js'))) {
  console.error(`build: ${join(glue, 'svcgen.js')} is missing; run \`bash rust/build-wasm.sh\` first`);
  process.exit(1);
}
const out = join(dist, 'wasm-web');
mkdirSync(out, { recursive: true });

// The page fetches core.wasm from the backend (the version the tasks run), never a file beside the
// glue: the glue's fallback URL goes, or bundlers would look for svcgen_bg.wasm next to it.
const fallback = "module_or_path = new URL('svcgen_bg.wasm', import.meta.url);";
const source = readFileSync(join(glue, 'svcgen.js'), 'utf8');
if (!source.includes(fallback)) {
  console.error(`build: ${join(glue, 'svcgen.js')} has no "${fallback}" to replace (another wasm-bindgen?)`);
  process.exit(1);
}
writeFileSync(
  join(out, 'svcgen.js'),
  source.replace(fallback, "throw new Error('svcgen: init needs the core.wasm response');"),
);
copyFileSync(join(glue, 'svcgen.d.ts'), join(out, 'svcgen.d.ts'));

// The svcgen version the glue belongs to: the backend must serve the same (X-Svcgen-Version).
const { version } = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8'));
writeFileSync(
  join(out, 'version.js'),
  `/** The svcgen version of this glue (plugin-ts/package.json at build). */\nexport const SVCGEN_VERSION = ${JSON.stringify(version)};\n`,
);
writeFileSync(join(out, 'version.d.ts'), 'export declare const SVCGEN_VERSION: string;\n');

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
