#!/usr/bin/env node
'use strict';
/*
 * Bundles the test app (app/src/index.jsx) with esbuild into app/dist: ES modules with code
 * splitting, so the lazy imports of the plugins (and of the svcgen field) become their own chunks
 * the way they do in an app built by @backstage/cli. What @backstage/cli adds that the app needs:
 * `process.env.NODE_ENV` and `process.env.APP_CONFIG` (the static config; left empty here, the
 * served index.html carries the config in a <script type="backstage.io/config"> tag, which
 * @backstage/core-app-api's defaultConfigLoader reads at startup).
 *
 *   node app/build.js [--dev]     writes app/dist/{index.html,index.js,chunk-*.js,...,meta.json}
 *
 * SVCGEN_PREVIEW_PACKAGE_DIR may point at another copy of the field's package (default: the one
 * installed in tests/browser/node_modules).
 */
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

/** Packages the app must hold once (React contexts, Backstage API refs, MUI theme): always resolved from here. */
const SINGLETONS = /^(react|react-dom|react-router|react-router-dom|@backstage\/[^/]+|@material-ui\/[^/]+|@emotion\/[^/]+)(\/.*)?$/;
/** Node built-ins some dependencies require on code paths the app never runs (CSV export); `buffer` is the npm package. */
const NODE_STUBS = {
  stream: 'class S {} module.exports = { Stream: S, Readable: S, Writable: S, Duplex: S, Transform: S, PassThrough: S };',
};

function resolvePlugin(root) {
  return {
    name: 'svcgen-test-app-resolve',
    setup(b) {
      b.onResolve({ filter: SINGLETONS }, async args => {
        if (args.pluginData === 'singleton' || args.resolveDir.startsWith(path.join(root, 'node_modules'))) return undefined;
        return b.resolve(args.path, { kind: args.kind, resolveDir: root, pluginData: 'singleton' });
      });
      const builtins = new RegExp(`^(node:)?(${Object.keys(NODE_STUBS).join('|')})/?$`);
      b.onResolve({ filter: builtins }, args => ({ path: args.path.replace(/^node:|\/$/g, ''), namespace: 'node-stub' }));
      b.onLoad({ filter: /.*/, namespace: 'node-stub' }, args => ({ contents: NODE_STUBS[args.path], loader: 'js' }));
    },
  };
}

async function build({ dev = process.argv.includes('--dev') } = {}) {
  const here = __dirname;
  const out = path.join(here, 'dist');
  fs.rmSync(out, { recursive: true, force: true });
  const alias = {};
  if (process.env.SVCGEN_PREVIEW_PACKAGE_DIR) {
    const dir = path.resolve(process.env.SVCGEN_PREVIEW_PACKAGE_DIR);
    alias['@svcgen/plugin-scaffolder-svcgen-preview'] = dir;
  }
  const t0 = performance.now();
  const result = await esbuild.build({
    entryPoints: { index: path.join(here, 'src', 'index.jsx') },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120'],
    jsx: 'automatic',
    minify: !dev,
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
    logOverride: { 'direct-eval': 'silent' },
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    alias,
    inject: [path.join(here, 'shims.js')],
    plugins: [resolvePlugin(path.dirname(here))],
    define: {
      'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production'),
      'process.env.APP_CONFIG': '[]',
      global: 'globalThis',
    },
    // Some dependencies still read `process` (e.g. process.env.X, process.browser) at run time.
    banner: { js: 'var process = globalThis.process ?? (globalThis.process = { env: {}, browser: true });' },
    loader: {
      '.svg': 'file',
      '.png': 'file',
      '.jpg': 'file',
      '.gif': 'file',
      '.woff': 'file',
      '.woff2': 'file',
      '.ttf': 'file',
      '.eot': 'file',
      '.wasm': 'file',
    },
  });
  fs.copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'));
  if (!fs.existsSync(path.join(out, 'index.css'))) fs.writeFileSync(path.join(out, 'index.css'), '');
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify(result.metafile));
  const ms = Math.round(performance.now() - t0);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { ms, bytes, files: Object.keys(result.metafile.outputs).length, out };
}

module.exports = { build };

if (require.main === module) {
  build().then(
    ({ ms, bytes, files }) => console.log(`app/build.js: built app/dist in ${ms} ms (${files} files, ${(bytes / 1e6).toFixed(1)} MB)`),
    err => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
