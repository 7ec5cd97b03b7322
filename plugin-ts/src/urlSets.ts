/*
 * Template sets read from a URL through the backend's UrlReaderService (a GitHub or GitLab tree at
 * a tag or branch, or anything else an installed reader can read as a tree), for the engine's
 * chain resolution (`fetchUrl`; the engine resolves a relative `extends` of such a set as a URL).
 *
 * - Each tree is extracted once into a folder of its own, named after the URL and the reader's
 *   ETag (a commit sha for the git hosts), under a private cache folder of the process (mkdtemp,
 *   mode 0700, outside every task workspace). Files keep their executable bit (`dir()` extracts
 *   the archive with its modes). A folder is never written again, so the engine's compiled set
 *   for it stays valid for as long as the folder exists.
 * - The next read of the same URL passes the stored ETag: a `NotModifiedError` means the tree is
 *   unchanged and the folder (and so the compiled set) is reused, with no download and no
 *   compile. Otherwise the new tree gets a new folder; the superseded one is removed a while
 *   later, once renders that started from it are over.
 * - Concurrent reads of one URL share a single request.
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoggerService, UrlReaderService } from '@backstage/backend-plugin-api';
import { InputError, isError } from '@backstage/errors';
import { MANIFEST_FILE } from './engine';

export { isTemplateSetUrl, resolveTemplateSetUrl } from './engine';

/** How a set was obtained by {@link UrlTemplateSets.fetch}. */
export interface FetchedTemplateSet {
  /** The local folder holding the set (manifest.yaml at its root). */
  dir: string;
  /** The reader's ETag of the tree (a commit sha for the git hosts). */
  etag: string;
  /** `read`: downloaded and extracted now; `not-modified`: the reader confirmed the cached copy. */
  how: 'read' | 'not-modified';
  /** Milliseconds spent, the reader's round trips included. */
  ms: number;
}

/** Options of {@link UrlTemplateSets}. */
export interface UrlTemplateSetsOptions {
  /**
   * Where the extracted trees go: created if missing, and owned by this instance (removed by
   * `dispose()`). Defaults to a fresh private folder under the OS temporary folder.
   */
  cacheDir?: string;
  /** How long a superseded tree is kept for renders still using it. Defaults to 10 minutes. */
  retireAfterMs?: number;
}

interface CacheEntry {
  etag: string;
  dir: string;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Template sets read through a `UrlReaderService`, cached by URL and ETag (see the file comment). */
export class UrlTemplateSets {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<FetchedTemplateSet>>();
  private readonly retireAfterMs: number;
  private root: Promise<string> | undefined;
  private disposed = false;

  constructor(
    private readonly reader: UrlReaderService,
    private readonly options: UrlTemplateSetsOptions = {},
  ) {
    this.retireAfterMs = options.retireAfterMs ?? 10 * 60_000;
  }

  /**
   * The engine's `fetchUrl` for one task: returns the local folder of the set at `url` and logs,
   * on `logger`, whether it was read or reused.
   */
  fetcher(logger: LoggerService): (url: string) => Promise<string> {
    return async url => {
      const fetched = await this.fetch(url);
      if (fetched.how === 'not-modified') {
        logger.info(`svcgen: template set ${url} not modified (etag ${fetched.etag}): using the compiled set`);
      } else {
        logger.info(`svcgen: read template set ${url} (etag ${fetched.etag}) in ${fetched.ms} ms`);
      }
      return fetched.dir;
    };
  }

  /** The local folder of the set at `url`: the cached one if the reader says it is unchanged. */
  fetch(url: string): Promise<FetchedTemplateSet> {
    const pending = this.inFlight.get(url);
    if (pending) return pending;
    const started = performance.now();
    const promise = this.readOrReuse(url).then(r => ({ ...r, ms: Math.round(performance.now() - started) }));
    this.inFlight.set(url, promise);
    const done = () => void this.inFlight.delete(url);
    promise.then(done, done);
    return promise;
  }

  /** Removes every extracted tree; later calls fail. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const root = this.root && (await this.root.catch(() => undefined));
    if (root) await fs.rm(root, { recursive: true, force: true });
  }

  private async readOrReuse(url: string): Promise<Omit<FetchedTemplateSet, 'ms'>> {
    if (this.disposed) throw new Error('svcgen: the template set cache was disposed');
    let cached = this.entries.get(url);
    if (cached && !(await isDir(cached.dir))) {
      // Someone cleaned the temporary folder: read the tree again.
      this.entries.delete(url);
      cached = undefined;
    }
    let response;
    try {
      response = await this.reader.readTree(url, cached ? { etag: cached.etag } : {});
    } catch (err) {
      if (cached && isError(err) && err.name === 'NotModifiedError') {
        return { dir: cached.dir, etag: cached.etag, how: 'not-modified' };
      }
      throw describeReadError(url, err);
    }
    const etag = response.etag;
    const root = await this.cacheRoot();
    const dir = path.join(root, `${hash(url)}-${hash(etag)}`);
    if (!(await isDir(dir))) {
      // Extract beside the final folder and rename: a folder with the final name is always complete.
      const staging = await fs.mkdtemp(path.join(root, '.extracting-'));
      try {
        await response.dir({ targetDir: staging });
        if (!(await isFile(path.join(staging, MANIFEST_FILE)))) {
          throw new InputError(
            `svcgen: template set ${url} has no ${MANIFEST_FILE} at its root; point templateSet at the folder of the set (e.g. .../tree/<tag>/<folder>)`,
          );
        }
        await fs.rename(staging, dir);
      } catch (err) {
        await fs.rm(staging, { recursive: true, force: true });
        throw err;
      }
    }
    if (cached && cached.dir !== dir) this.retire(cached.dir);
    this.entries.set(url, { etag, dir });
    return { dir, etag, how: 'read' };
  }

  /** Removes a superseded tree later, once renders that resolved it before the change are over. */
  private retire(dir: string): void {
    const inUse = () => [...this.entries.values()].some(e => e.dir === dir);
    const timer = setTimeout(() => {
      if (!inUse()) void fs.rm(dir, { recursive: true, force: true });
    }, this.retireAfterMs);
    timer.unref();
  }

  private cacheRoot(): Promise<string> {
    this.root ??= (async () => {
      if (this.options.cacheDir) {
        await fs.mkdir(this.options.cacheDir, { recursive: true, mode: 0o700 });
        return path.resolve(this.options.cacheDir);
      }
      return fs.mkdtemp(path.join(os.tmpdir(), 'svcgen-template-sets-'));
    })();
    return this.root;
  }
}

/**
 * The reader's error as the step's: a URL that no reader may read, or that does not exist, is the
 * template's fault (an `InputError`); anything else (the host down, a 500) is not.
 */
function describeReadError(url: string, err: unknown): Error {
  if (isError(err) && (err.name === 'NotFoundError' || err.name === 'NotAllowedError')) {
    return new InputError(`svcgen: cannot read template set ${url}: ${err.message}`);
  }
  const reason = isError(err) ? err.message : String(err);
  return new Error(`svcgen: could not read template set ${url}: ${reason}`, { cause: err });
}

async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then(
    s => s.isDirectory(),
    () => false,
  );
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    s => s.isFile(),
    () => false,
  );
}
