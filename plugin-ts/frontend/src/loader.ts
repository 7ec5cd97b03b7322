// Loads the WebAssembly core and template sets from the svcgen backend module, once per page: every
// mount of the field shares the same promises (a set is loaded once per name).

import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
// The browser build of the core (wasm-bindgen --target web), copied into dist/wasm-web at build.
import initCore, { TemplateSet } from './wasm-web/svcgen.js';
import { SVCGEN_VERSION } from './wasm-web/version.js';
import { decodeBase64, versionMismatch } from './preview.js';

/** A compiled set, ready for `render(values)`. */
export type LoadedSet = TemplateSet;

/** What the backend sends for a set: the chain and bytes the svcgen:render action compiles. */
interface SetResponse {
  svcgen: string;
  name: string;
  version: string;
  layers: Parameters<typeof TemplateSet.load>[0];
  data: string;
}

/** The failure shown as `unavailable: <reason>`. */
export class PreviewUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PreviewUnavailableError';
  }
}

let core: Promise<void> | undefined;
const sets = new Map<string, Promise<LoadedSet>>();

/** The compiled set `name` from the backend, loading the core first; shared by the whole page. */
export function loadSet(name: string, discoveryApi: DiscoveryApi, fetchApi: FetchApi): Promise<LoadedSet> {
  let set = sets.get(name);
  if (!set) {
    set = (async () => {
      const base = `${await discoveryApi.getBaseUrl('scaffolder')}/svcgen/preview`;
      core ??= loadCore(base, fetchApi);
      // Set and core download side by side; the set compiles once the core is up.
      const [, response] = await Promise.all([core, fetchSet(base, name, fetchApi)]);
      try {
        return TemplateSet.load(response.layers, decodeBase64(response.data));
      } catch (err) {
        throw new PreviewUnavailableError(`template set "${name}" does not load: ${messageOf(err)}`);
      }
    })();
    sets.set(name, set);
    // A failure is not kept: the next mount (another visit of the step) tries again.
    const failed = set;
    set.catch(() => {
      if (sets.get(name) === failed) {
        sets.delete(name);
      }
    });
  }
  return set;
}

async function loadCore(base: string, fetchApi: FetchApi): Promise<void> {
  try {
    const response = await get(fetchApi, `${base}/core.wasm`, 'the core');
    // Unreadable when the app's origin is not allowed to see the header: the set's JSON, from the
    // same backend, carries the version too and is always checked.
    const header = response.headers.get('X-Svcgen-Version');
    const mismatch = header === null ? undefined : versionMismatch(header, SVCGEN_VERSION);
    if (mismatch) {
      throw new PreviewUnavailableError(mismatch);
    }
    // The response itself: the glue compiles it while it streams (application/wasm).
    await initCore({ module_or_path: response });
  } catch (err) {
    core = undefined;
    throw err;
  }
}

async function fetchSet(base: string, name: string, fetchApi: FetchApi): Promise<SetResponse> {
  const response = await get(fetchApi, `${base}/sets/${encodeURIComponent(name)}`, `template set "${name}"`);
  let body: SetResponse;
  try {
    body = (await response.json()) as SetResponse;
  } catch (err) {
    throw new PreviewUnavailableError(`template set "${name}": not JSON (${messageOf(err)})`);
  }
  const mismatch = versionMismatch(body.svcgen, SVCGEN_VERSION);
  if (mismatch) {
    throw new PreviewUnavailableError(mismatch);
  }
  if (!Array.isArray(body.layers) || typeof body.data !== 'string') {
    throw new PreviewUnavailableError(`template set "${name}": the backend's answer has no layers and data`);
  }
  return body;
}

async function get(fetchApi: FetchApi, url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetchApi.fetch(url);
  } catch (err) {
    throw new PreviewUnavailableError(`${what} could not be fetched (${messageOf(err)})`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`.trim();
    try {
      const body = (await response.json()) as { error?: { message?: unknown } };
      if (typeof body?.error?.message === 'string') {
        detail += `: ${body.error.message}`;
      }
    } catch {
      // not a Backstage error body
    }
    throw new PreviewUnavailableError(`${what} could not be fetched (${detail})`);
  }
  return response;
}

/** The reason shown after `unavailable: ` for any loading failure. */
export function unavailableReason(err: unknown): string {
  return messageOf(err);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
