// The loader against a stand-in backend (a fetch function): the unavailable cases, then a real load
// and render of the bundled microservice set with the browser glue (skipped without a wasm build).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { loadSet } from './loader.js';
import { buildTree, fileText, formValues, readFailure } from './preview.js';
import { SVCGEN_VERSION } from './wasm-web/version.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const glue = resolve(process.env.SVCGEN_WEB_GLUE ?? join(repo, 'plugin-ts', 'wasm-web'));
const wasmPath = join(glue, 'svcgen_bg.wasm');

const BASE = 'http://backend.test/api/scaffolder';
const discoveryApi: DiscoveryApi = { getBaseUrl: async () => BASE };

type Route = (url: string) => Response | Promise<Response>;
function fetchApi(route: Route, log: string[] = []): FetchApi {
  return {
    fetch: async (input: RequestInfo | URL) => {
      const url = String(input);
      log.push(url.slice(BASE.length));
      return route(url);
    },
  } as FetchApi;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function packedSet(dir: string) {
  const files: { path: string; size: number; executable: boolean }[] = [];
  const parts: Buffer[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = statSync(join(abs, name));
      if (stat.isDirectory()) {
        walk(join(abs, name), path);
      } else {
        const contents = readFileSync(join(abs, name));
        files.push({ path, size: contents.length, executable: (stat.mode & 0o111) !== 0 });
        parts.push(contents);
      }
    }
  };
  walk(dir, '');
  return { files, parts };
}

describe('loadSet when the preview cannot run', () => {
  it('says why when the routes are not there', async () => {
    const api = fetchApi(() => json({ error: { message: 'Not Found' } }, 404));
    await assert.rejects(loadSet('gone', discoveryApi, api), /could not be fetched \(404.*Not Found\)/);
  });

  it('says why when the backend is unreachable', async () => {
    const api = fetchApi(() => Promise.reject(new TypeError('Failed to fetch')));
    await assert.rejects(loadSet('offline', discoveryApi, api), /could not be fetched \(Failed to fetch\)/);
  });

  it('refuses a core of another svcgen version before running it', async () => {
    const api = fetchApi(url =>
      url.endsWith('/core.wasm')
        ? new Response(new Uint8Array([0, 97, 115, 109]), { headers: { 'X-Svcgen-Version': '9.9.9' } })
        : json({ svcgen: SVCGEN_VERSION, name: 'x', version: '1.0.0', layers: [], data: '' }),
    );
    await assert.rejects(
      loadSet('other-core', discoveryApi, api),
      new RegExp(`the backend runs svcgen 9\\.9\\.9, this page ${SVCGEN_VERSION.replace(/\./g, '\\.')}`),
    );
  });

  it('tries again on the next mount after a failure', async () => {
    let calls = 0;
    const api = fetchApi(() => {
      calls++;
      return json({ error: { message: 'down' } }, 503);
    });
    await assert.rejects(loadSet('retry', discoveryApi, api));
    const before = calls;
    await assert.rejects(loadSet('retry', discoveryApi, api));
    assert.ok(calls > before, 'a failed load is not cached');
  });
});

describe('loadSet with the real core', { skip: !existsSync(wasmPath) && `no ${wasmPath}` }, () => {
  const core = () => new Response(readFileSync(wasmPath), {
    headers: { 'Content-Type': 'application/wasm', 'X-Svcgen-Version': SVCGEN_VERSION },
  });
  const microservice = () => {
    const { files, parts } = packedSet(join(repo, 'templates', 'microservice'));
    return json({
      svcgen: SVCGEN_VERSION,
      name: 'microservice',
      version: 'x',
      layers: [{ source: 'microservice', files }],
      data: Buffer.concat(parts).toString('base64'),
    });
  };
  const route: Route = url =>
    url.endsWith('/core.wasm') ? core() : url.endsWith('/sets/microservice') ? microservice() : json({}, 404);

  it('refuses a set of another svcgen version', async () => {
    const api = fetchApi(url =>
      url.endsWith('/core.wasm') ? core() : json({ svcgen: '0.0.1', name: 'x', version: '1', layers: [], data: '' }),
    );
    await assert.rejects(loadSet('old-set', discoveryApi, api), /the backend runs svcgen 0\.0\.1/);
  });

  it('loads once per page, renders the tree and reports problems by field', async t => {
    const log: string[] = [];
    const api = fetchApi(route, log);
    const [set, again] = await Promise.all([
      loadSet('microservice', discoveryApi, api),
      loadSet('microservice', discoveryApi, api),
    ]);
    assert.equal(set, again);
    assert.deepEqual(log.filter(u => u.includes('microservice')), ['/svcgen/preview/sets/microservice']);

    const formData = {
      serviceName: 'orders',
      owner: 'group:default/team-a',
      repoUrl: 'github.com?owner=acme&repo=orders',
      description: '',
      apiType: 'grpc',
      preview: undefined,
    };
    const output = set.render(formValues(formData, 'preview'));
    const tree = buildTree(output.files);
    assert.equal(tree.fileCount, output.files.length);
    assert.ok(output.files.some(f => f.path.endsWith('.proto')), 'gRPC brings a .proto');
    const readme = output.files.findIndex(f => f.path === 'README.md');
    assert.match(fileText(output.files, output.data, readme), /orders/);
    assert.equal(output.files.reduce((sum, f) => sum + f.size, 0), output.data.length);

    const rest = set.render(formValues({ ...formData, apiType: 'rest' }, 'preview'));
    assert.ok(!rest.files.some(f => f.path.endsWith('.proto')), 'REST has no .proto');

    let failure;
    try {
      set.render(formValues({ ...formData, serviceName: 'Bad_Name', scheduledJobs: true, configureAdvanced: true }, 'preview'));
    } catch (err) {
      failure = readFailure(err);
    }
    assert.equal(failure?.kind, 'problems');
    assert.ok(failure?.kind === 'problems' && failure.byField.get('serviceName')?.[0].message.startsWith('serviceName: '));

    // How long one keystroke costs on this machine (Node's V8; the browser test measures Chromium).
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      set.render(formValues({ ...formData, serviceName: `orders-${i}` }, 'preview'));
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(
      `render of the microservice set (${output.files.length} files): median ${times[25].toFixed(2)} ms, p95 ${times[47].toFixed(2)} ms`,
    );
  });
});
