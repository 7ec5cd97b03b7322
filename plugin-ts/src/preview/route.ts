/*
 * The backend routes of the form's live preview (issue 17): the browser build of the core and the
 * template sets, exactly as the `svcgen:render` action compiles them, so that the browser never
 * validates or renders with another version than the task will.
 *
 * Mounted by the module under the scaffolder's base URL (`/api/scaffolder`):
 * - `GET svcgen/preview/core.wasm`: plugin-ts/wasm-web/svcgen_bg.wasm (read once).
 * - `GET svcgen/preview/sets/:name`: the chain the action resolves for the set name (bundled, or in
 *   `svcgen.templateDirs`, with the bases it extends), packed as `TemplateSet.load` takes it:
 *   `{ svcgen, name, version, layers, data }`, `data` the packed bytes in base64.
 * Both carry an `ETag` (a hash of the content), `Cache-Control: no-cache` and `X-Svcgen-Version`,
 * and answer 304 to a matching `If-None-Match`. Like every plugin route they need a Backstage user
 * or service token (the default auth policy of `coreServices.httpRouter`).
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@backstage/errors';
import express from 'express';
import { parse as parseYaml } from 'yaml';
import {
  isTemplateSetUrl,
  MANIFEST_FILE,
  packLayers,
  readTemplateSetWatched,
  type Stamped,
  type LayerIndex,
  type SvcgenEngine,
  type TemplateChain,
  unchanged,
} from '../engine';

/** Where the browser build of the core is (rust/build-wasm.sh writes it). */
export const WEB_CORE_DIR = path.resolve(__dirname, '..', '..', 'wasm-web');

/** The route paths, relative to the plugin's base URL. */
export const PREVIEW_CORE_PATH = '/svcgen/preview/core.wasm';
export const PREVIEW_SETS_PATH = '/svcgen/preview/sets';

/** What `GET …/sets/:name` answers. */
export interface PreviewSet {
  /** The svcgen version of the core that will render it (as `.svcgen/answers.yaml` records it). */
  svcgen: string;
  /** The manifest `name` and `version` of the set asked for. */
  name: string;
  version: string;
  /** The chain's index, exactly as `TemplateSet.load` takes it. */
  layers: LayerIndex[];
  /** The chain's files back to back, in base64. */
  data: string;
}

/** Options of {@link createPreviewRouter}. */
export interface PreviewRouterOptions {
  /** The engine the action resolves sets with (its `templateDirs` included). */
  engine: SvcgenEngine;
  /** The browser build's folder; by default the one in this package. */
  webCoreDir?: string;
}

interface Cached {
  body: Buffer;
  etag: string;
  /** The files and folders of the chain's sets outside this package, as they were when read. */
  watched: Stamped[];
}

interface WebCore {
  wasm: Buffer;
  etag: string;
  version: string;
}

/** How many packed chains are kept (least recently used dropped first), like the engine's compiled sets. */
const MAX_CACHED_SETS = 16;

const quotedHash = (bytes: Uint8Array) => `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;

function chainKey(chain: TemplateChain): string {
  return chain.dirs.map((dir, i) => `${path.resolve(dir)}\u0000${chain.sources[i]}`).join('\n');
}

/** Whether an `If-None-Match` header names `etag` (or is `*`); weak tags compare by their value. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some(tag => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

/** A JSON error in Backstage's shape (`{ error: { name, message } }`). */
function sendError(res: express.Response, status: number, name: string, message: string): void {
  res.status(status).json({ error: { name, message }, response: { statusCode: status } });
}

/**
 * The preview routes, for `coreServices.httpRouter.use`. Reads nothing until asked: the core on the
 * first request for it, a set on the first request for it (and again only when one of its files in a
 * configured folder changes; the sets built into this package change only with the package).
 */
export function createPreviewRouter(options: PreviewRouterOptions): express.Router {
  const { engine } = options;
  const webCoreDir = options.webCoreDir ?? WEB_CORE_DIR;
  const router = express.Router();

  let webCore: Promise<WebCore> | undefined;
  const loadWebCore = () => {
    webCore ??= (async () => {
      const [wasm, pkg] = await Promise.all([
        fs.readFile(path.join(webCoreDir, 'svcgen_bg.wasm')),
        fs.readFile(path.join(webCoreDir, 'package.json'), 'utf8'),
      ]);
      const version = String(JSON.parse(pkg).version);
      return { wasm, etag: quotedHash(wasm), version };
    })();
    // A failed read is tried again by the next request (say, the build finished meanwhile).
    webCore.catch(() => (webCore = undefined));
    return webCore;
  };

  const cache = new Map<string, Cached>();
  const building = new Map<string, Promise<Cached>>();

  async function pack(chain: TemplateChain, svcgen: string): Promise<Cached> {
    const layers = await Promise.all(
      chain.dirs.map(async (dir, i) => ({ source: chain.sources[i], ...(await readTemplateSetWatched(dir)) })),
    );
    const { index, data } = packLayers(layers);
    const manifest = parseYaml(await fs.readFile(path.join(chain.dirs[0], MANIFEST_FILE), 'utf8'), {
      schema: 'failsafe',
    }) as { name?: unknown; version?: unknown } | null;
    const body: PreviewSet = {
      svcgen,
      name: String(manifest?.name ?? ''),
      version: String(manifest?.version ?? ''),
      layers: index,
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    };
    const json = Buffer.from(JSON.stringify(body));
    return { body: json, etag: quotedHash(json), watched: layers.flatMap(l => l.watched) };
  }

  async function packed(chain: TemplateChain, svcgen: string): Promise<Cached> {
    const key = chainKey(chain);
    const cached = cache.get(key);
    if (cached && (await unchanged(cached.watched))) {
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    let pending = building.get(key);
    if (!pending) {
      pending = pack(chain, svcgen).finally(() => building.delete(key));
      building.set(key, pending);
    }
    const fresh = await pending;
    cache.delete(key);
    cache.set(key, fresh);
    for (const oldest of cache.keys()) {
      if (cache.size <= MAX_CACHED_SETS) break;
      cache.delete(oldest);
    }
    return fresh;
  }

  /** Sends `body` with its ETag, or a 304 when the request already holds it. */
  function send(req: express.Request, res: express.Response, type: string, body: Buffer, etag: string, svcgen: string) {
    res.set({ ETag: etag, 'Cache-Control': 'no-cache', 'X-Svcgen-Version': svcgen });
    // An app on another origin (a dev frontend on :3000) may read these, beside what backend.cors exposes.
    const exposed = res.get('Access-Control-Expose-Headers');
    res.set('Access-Control-Expose-Headers', [exposed, 'ETag', 'X-Svcgen-Version'].filter(Boolean).join(', '));
    res.type(type);
    if (matches(req.get('If-None-Match'), etag)) {
      res.status(304).end();
      return;
    }
    res.status(200).end(body);
  }

  router.get(PREVIEW_CORE_PATH, (req, res, next) => {
    loadWebCore().then(core => send(req, res, 'application/wasm', core.wasm, core.etag, core.version), next);
  });

  router.get(`${PREVIEW_SETS_PATH}/:name`, (req, res, next) => {
    const name = req.params.name;
    (async () => {
      if (isTemplateSetUrl(name)) {
        sendError(res, 404, 'NotFoundError', `svcgen: template sets named by URL are not served for preview (${name})`);
        return;
      }
      // The name itself first: an unknown one is a 404, a broken chain behind a known one is not.
      try {
        await engine.resolveTemplateSet(name);
      } catch (err) {
        if (err instanceof InputError) {
          sendError(res, 404, 'NotFoundError', err.message);
          return;
        }
        throw err;
      }
      const core = await loadWebCore();
      const chain = await engine.resolveChain(name);
      const set = await packed(chain, core.version);
      send(req, res, 'application/json; charset=utf-8', set.body, set.etag, core.version);
    })().catch(next);
  });

  return router;
}
