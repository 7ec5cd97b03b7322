/*
 * The one place the svcgen WebAssembly core is loaded and called: inside the render worker for the
 * scaffolder action (worker.ts), in process for the preview CLI.
 *
 * - The wasm-bindgen glue (../wasm/svcgen.js) is required once per thread, lazily.
 * - A template set is read without leaving it: a symbolic link resolving outside the set's folder
 *   fails the set with an `InputError` naming the link.
 * - A set whose manifest `extends` another is loaded with its chain of bases (`resolveChain`): a
 *   base named by set name is looked up like any set, one named by a relative path is found beside
 *   the overlay (folder or URL), and URLs are read by the host's `fetchUrl` (the action's
 *   UrlReaderService); the core merges the chain.
 * - Compiled sets are cached by chain. A set in a configured folder is recompiled when one of its
 *   files or folders changes (one parallel round of `stat`s per call); the sets built into this
 *   package change only with the package, so they are never checked again.
 * - A WebAssembly trap (a Rust panic, or `__trapForTesting`) leaves an instance unusable: the
 *   instance and every set compiled with it are dropped, a fresh instance serves the next call,
 *   and the current call fails with a `SvcgenCrashError`.
 * - `update` reads a generated repository (every regular file but `.git/`; links are not followed)
 *   and has the core merge it from one set to another (svcgen::update).
 */

import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@backstage/errors';
import type * as Glue from '../wasm/svcgen';

export type {
  Change,
  Conflict,
  Extends,
  LayerIndex,
  LayerInfo,
  Output,
  OutputFile,
  Problem,
  Renamed,
  RepoFile,
  SourceFile,
  SvcgenError,
  TemplateInfo,
  Update,
  UpdateSummary,
  Validated,
} from '../wasm/svcgen';

type GlueModule = typeof Glue;

/** The template set rendered when none is named. */
export const DEFAULT_TEMPLATE_SET = 'microservice';

/** The file that marks a folder as a template set. */
export const MANIFEST_FILE = 'manifest.yaml';

/** The template sets shipped inside this package (copied from the repository's templates/ at build). */
export const BUILTIN_TEMPLATES_DIR = path.resolve(__dirname, '..', 'templates');

const GLUE_PATH = require.resolve('../wasm/svcgen.js');

/** Thrown for the call during which the WebAssembly instance trapped; the next call gets a fresh one. */
export class SvcgenCrashError extends Error {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`svcgen: the WebAssembly core crashed (${reason}); it was restarted for the next call`, { cause });
    this.name = 'SvcgenCrashError';
  }
}

/** Whether `err` is an error thrown by the core (validation, manifest, template or path). */
export function isSvcgenError(err: unknown): err is Glue.SvcgenError {
  return err instanceof Error && err.name === 'SvcgenError' && typeof (err as Glue.SvcgenError).kind === 'string';
}

// ---------------------------------------------------------------------------------------------
// The process-wide instance

/** A chain of template sets as the core loads it: the set asked for first, then each one's base. */
export interface TemplateChain {
  /** The local folder of each set. */
  dirs: string[];
  /** Where each set was found, as recorded in the answers file: a set name, a path or a URL. */
  sources: string[];
}

/** Options of {@link SvcgenEngine.resolveChain}. */
export interface ResolveChainOptions {
  /**
   * Reads the set at a URL into a local folder and returns the folder; without it, a URL is
   * refused. The scaffolder action passes its UrlReaderService-backed reader.
   */
  fetchUrl?: (url: string) => Promise<string>;
  /**
   * Whether `ref` itself may be a folder path (the preview CLI). The action takes names and URLs
   * only: a path would let a template read any folder of the backend's machine.
   */
  allowPath?: boolean;
}

/** Chains longer than this are cut and refused by the core (svcgen::MAX_LAYERS). */
const MAX_LAYERS = 8;

/** Whether a set reference (`templateSet`, or a manifest's `extends`) is a URL rather than a name or path. */
export function isTemplateSetUrl(ref: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(ref);
}

/**
 * The URL of a set that the set at `base` names by the relative path `ref` (`./base`,
 * `../microservice`): relative to the set's folder, which the URL names without a trailing slash.
 */
export function resolveTemplateSetUrl(ref: string, base: string): string {
  const folder = new URL(base);
  if (!folder.pathname.endsWith('/')) folder.pathname += '/';
  const resolved = new URL(ref, folder);
  // A set's URL names its folder; keep the form the user writes (no trailing slash).
  if (resolved.pathname.length > 1) resolved.pathname = resolved.pathname.replace(/\/+$/, '');
  return resolved.toString();
}

/** Whether a set reference is a folder path (`./x`, `../x`, `/x`), as opposed to a name. */
function isPath(ref: string): boolean {
  return ref.startsWith('./') || ref.startsWith('../') || path.isAbsolute(ref) || ref === '.' || ref === '..';
}

interface CompiledSet {
  set: Glue.TemplateSet;
  /** The set's files and folders as they were when it was compiled; none for built-in sets. */
  watched: Stamped[];
}

let glue: GlueModule | undefined;
let instanceGeneration = 0;
/** Compiled chains, least recently used first. */
const compiledSets = new Map<string, CompiledSet>();
/** What each manifest read by `readExtends` extends, with its file's stamp then; oldest first. */
const extendsByManifest = new Map<string, { stamp: string; extends: Glue.Extends | undefined }>();

/**
 * How many compiled chains are kept: every version of a set read by URL is a chain of its own, so
 * the cache must not grow with each new commit of a branch.
 */
const MAX_COMPILED_SETS = 16;

function currentGlue(): GlueModule {
  if (!glue) {
    glue = require(GLUE_PATH) as GlueModule;
    instanceGeneration += 1;
  }
  return glue;
}

/** Drops the instance and everything compiled with it; the next call loads a fresh one. */
function discardInstance(): void {
  for (const { set } of compiledSets.values()) {
    // Unregister the glue's finalizer without calling into the dead instance: `free()` would
    // run WebAssembly code on memory the trap may have left inconsistent.
    (set as unknown as { __destroy_into_raw?: () => number }).__destroy_into_raw?.();
  }
  compiledSets.clear();
  glue = undefined;
  delete require.cache[GLUE_PATH];
}

/** Runs `fn` against the current instance; a trap discards the instance and becomes a `SvcgenCrashError`. */
function withCore<T>(fn: (core: GlueModule) => T): T {
  const core = currentGlue();
  try {
    return fn(core);
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      discardInstance();
      throw new SvcgenCrashError(err);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading template sets

/** A file or folder of a set as it was read: stat it again to know whether it changed. */
export interface Stamped {
  absolute: string;
  /** Changes when the file's contents or mode change, or when entries are added to a folder. */
  stamp: string;
}

interface FoundFile extends Stamped {
  path: string;
  executable: boolean;
}

function stampOf(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.mode}`;
}

/**
 * Lists every regular file under `root`, sorted by path, with paths relative to `root` and `/`
 * separators; and the folders walked. A symbolic link is followed only when it resolves inside
 * `root` (cycles are skipped); one resolving outside fails the whole set with an `InputError`, so
 * that no file of the machine (say /proc/self/environ) ends up in a generated repository. Every
 * path returned is a resolved one: what was checked is what is read.
 */
async function listFiles(root: string): Promise<{ files: FoundFile[]; folders: Stamped[] }> {
  const files: FoundFile[] = [];
  const folders: Stamped[] = [];
  const seen = new Set<string>();
  const realRoot = await fs.realpath(root);
  const refuse = (message: string) => new InputError(`svcgen: template set "${path.basename(root)}": ${message}`);

  /** The stat of `absolute` and the path to read it by: resolved, and checked, when it is a link. */
  async function inspect(absolute: string, relative: string): Promise<{ real: string; stat: Stats }> {
    const stat = await fs.lstat(absolute);
    if (!stat.isSymbolicLink()) return { real: absolute, stat };
    const target = await fs.readlink(absolute);
    let real: string;
    try {
      real = await fs.realpath(absolute);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? String(err);
      throw refuse(`${relative} is a symbolic link to ${target}, which cannot be read (${reason})`);
    }
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      const shown = real === target ? target : `${target} (${real})`;
      throw refuse(
        `${relative} is a symbolic link to ${shown}, a location outside the set; template sets may only link inside themselves`,
      );
    }
    return { real, stat: await fs.stat(real) };
  }

  /** Walks the folder `dir` (a resolved path inside the set), shown as `rel`. */
  async function walk(dir: string, rel: string): Promise<void> {
    if (seen.has(dir)) return;
    seen.add(dir);
    // The root as given: should it be a link, retargeting it is a change too.
    const watchedDir = rel ? dir : root;
    folders.push({ absolute: watchedDir, stamp: stampOf(await fs.stat(watchedDir)) });
    const entries = (await fs.readdir(dir)).sort();
    const relativeOf = (name: string) => (rel ? `${rel}/${name}` : name);
    const found = await Promise.allSettled(entries.map(name => inspect(path.join(dir, name), relativeOf(name))));
    // In name order, so that the first bad link reported is the same every time.
    for (const [i, name] of entries.entries()) {
      const result = found[i];
      if (result.status === 'rejected') throw result.reason;
      const { real, stat } = result.value;
      if (stat.isDirectory()) {
        await walk(real, relativeOf(name));
      } else if (stat.isFile()) {
        files.push({ path: relativeOf(name), absolute: real, stamp: stampOf(stat), executable: (stat.mode & 0o111) !== 0 });
      }
    }
  }
  await walk(realRoot, '');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, folders };
}

/** Whether every file and folder still has the stamp it had (all checked at once). */
export async function unchanged(watched: Stamped[]): Promise<boolean> {
  const now = await Promise.all(watched.map(w => fs.stat(w.absolute).then(stampOf, () => '')));
  return now.every((stamp, i) => stamp === watched[i].stamp);
}

function isBuiltIn(dir: string): boolean {
  return dir.startsWith(BUILTIN_TEMPLATES_DIR + path.sep);
}

/** Reads every regular file of a template-set folder, as the core expects them. */
export async function readTemplateSetFiles(dir: string): Promise<Glue.SourceFile[]> {
  return readSources((await listFiles(dir)).files);
}

/**
 * Reads a template-set folder, with what to check later to know whether it changed: its files and
 * folders ({@link unchanged}), none for the sets built into this package, which change only with it.
 */
export async function readTemplateSetWatched(dir: string): Promise<{ files: Glue.SourceFile[]; watched: Stamped[] }> {
  const { files, folders } = await listFiles(dir);
  return { files: await readSources(files), watched: isBuiltIn(path.resolve(dir)) ? [] : [...folders, ...files] };
}

function readSources(files: { path: string; absolute: string; executable: boolean }[]): Promise<Glue.SourceFile[]> {
  return mapLimited(files, CONCURRENT_FILES, async f => ({
    path: f.path,
    contents: await fs.readFile(f.absolute),
    executable: f.executable,
  }));
}

/**
 * Files read or written at once: enough to keep the thread pool busy, few enough to stay far from
 * file-descriptor limits (a set of 25,701 files read all at once failed with EMFILE).
 */
export const CONCURRENT_FILES = 16;

/** `fn` applied to every item, at most `limit` at a time; the results in the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A chain's files as `TemplateSet.load` takes them: an index per set and every file's bytes back
 * to back in one buffer (two crossings into WebAssembly, whatever the number of files).
 */
export function packLayers(layers: { source: string; files: Glue.SourceFile[] }[]): {
  index: Glue.LayerIndex[];
  data: Uint8Array;
} {
  const index = layers.map(({ source, files }) => ({
    source,
    files: files.map(f => ({ path: f.path, size: f.contents.length, executable: f.executable ?? false })),
  }));
  const data = Buffer.concat(layers.flatMap(l => l.files.map(f => f.contents)));
  return { index, data };
}

/** The folder a repository keeps its history in: never part of an update. */
const GIT_DIR = '.git';

/**
 * Reads a repository for an update: every regular file under `root` except `.git/`, sorted by
 * path. Symbolic links are not followed (an update never reads or writes through one): the core
 * sees them as absent.
 */
export async function readRepoFiles(root: string): Promise<Glue.RepoFile[]> {
  const found: { path: string; absolute: string; executable: boolean }[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (!rel && entry.name === GIT_DIR) continue;
      const relative = rel ? `${rel}/${entry.name}` : entry.name;
      const absolute = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(absolute, relative);
      } else if (entry.isFile()) {
        const stat = await fs.stat(absolute);
        found.push({ path: relative, absolute, executable: (stat.mode & 0o111) !== 0 });
      }
    }
  }
  await walk(root, '');
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return readSources(found);
}

/** A repository's files as `update` takes them: an index and the bytes back to back, like {@link packLayers}. */
export function packRepo(files: Glue.RepoFile[]): { index: RepoIndex[]; data: Uint8Array } {
  const index = files.map(f => ({ path: f.path, size: f.contents.length, executable: f.executable ?? false }));
  return { index, data: Buffer.concat(files.map(f => f.contents)) };
}

/** One repository file in the index `update` takes. */
export interface RepoIndex {
  path: string;
  size: number;
  executable: boolean;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The engine

/** Options of {@link SvcgenEngine}. */
export interface SvcgenEngineOptions {
  /**
   * Folders each holding template sets (one subfolder with a manifest.yaml per set), searched in
   * order before the sets built into this package. Relative folders are resolved against the
   * current working directory.
   */
  templateDirs?: string[];
}

/** A rendered output split into files. */
export interface RenderedFile {
  path: string;
  executable: boolean;
  contents: Uint8Array;
}

/** Options of {@link SvcgenEngine.update}: the repository (a folder, or its files) and both sides. */
export type UpdateOptions = ({ repoDir: string; files?: undefined } | { files: Glue.RepoFile[]; repoDir?: undefined }) & {
  /** The set the repository was generated from, at the version its answers file records. */
  from: TemplateChain;
  /** The set to update to. */
  to: TemplateChain;
  /** The values the repository was generated with (the answers file's, plus any secret). */
  oldValues: unknown;
  /** The values to generate with now. */
  newValues: unknown;
};

/** One change of an update with its new contents (empty for a deleted file). */
export interface UpdatedFile extends Glue.Change {
  contents: Uint8Array;
}

/** The core's update, with the new contents split per change. */
export interface UpdateResult extends Glue.Update {
  files: UpdatedFile[];
}

/** Finds template sets by name and renders them with the process-wide WebAssembly core. */
export class SvcgenEngine {
  /** Folders searched for named template sets, in order. */
  readonly searchDirs: readonly string[];

  constructor(options: SvcgenEngineOptions = {}) {
    const extra = (options.templateDirs ?? []).map(dir => path.resolve(dir));
    this.searchDirs = [...extra, BUILTIN_TEMPLATES_DIR];
  }

  /** Names of the template sets found in the search folders, sorted, without duplicates. */
  async listTemplateSets(): Promise<string[]> {
    const names = new Set<string>();
    for (const root of this.searchDirs) {
      let entries: string[];
      try {
        entries = await fs.readdir(root);
      } catch {
        continue;
      }
      for (const name of entries) {
        if (await exists(path.join(root, name, MANIFEST_FILE))) names.add(name);
      }
    }
    return [...names].sort();
  }

  /** The folder of the template set called `name`; an `InputError` naming the available sets if none. */
  async resolveTemplateSet(name: string): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new InputError(
        `svcgen: template set name ${JSON.stringify(name)} is not valid: use a folder name such as "microservice"`,
      );
    }
    for (const root of this.searchDirs) {
      const dir = path.join(root, name);
      if (await exists(path.join(dir, MANIFEST_FILE))) return dir;
    }
    const available = await this.listTemplateSets();
    throw new InputError(
      `svcgen: unknown template set ${JSON.stringify(name)}; available: ${available.length ? available.join(', ') : 'none'}`,
    );
  }

  /**
   * The chain of sets `ref` names: a set name (the search folders), a folder path, or a URL (read
   * by `options.fetchUrl`), then the base each one's manifest `extends`, resolved beside it. A base
   * that cannot be found is an `InputError` naming it and the set that extends it. A set met twice
   * ends the chain there, and the core reports the cycle.
   */
  async resolveChain(ref: string, options: ResolveChainOptions = {}): Promise<TemplateChain> {
    const chain: TemplateChain = { dirs: [], sources: [] };
    const seen = new Set<string>();
    let next: string | undefined = ref;
    while (next !== undefined && chain.dirs.length <= MAX_LAYERS) {
      const from = chain.dirs.length ? { dir: chain.dirs[chain.dirs.length - 1], source: chain.sources[chain.sources.length - 1] } : undefined;
      const { dir, source } = await this.locate(next, from, options);
      chain.dirs.push(dir);
      chain.sources.push(source);
      const key = `${dir}\n${source}`;
      if (seen.has(key)) break;
      seen.add(key);
      next = (await this.readExtends(dir))?.set;
    }
    return chain;
  }

  /**
   * The base set the manifest in `dir` extends, if any (the core reads it). Kept per manifest while
   * its stamp holds (the sets built into this package never change): a render of a set named by
   * the action resolves its chain each time, and parsing the manifest again took most of it.
   */
  async readExtends(dir: string): Promise<Glue.Extends | undefined> {
    const file = path.join(dir, MANIFEST_FILE);
    const stamp = isBuiltIn(dir) ? '' : stampOf(await fs.stat(file));
    const known = extendsByManifest.get(file);
    if (known?.stamp === stamp) return known.extends;
    const manifest = await fs.readFile(file);
    const found = withCore(core => core.readExtends(manifest));
    if (extendsByManifest.size >= MAX_COMPILED_SETS) extendsByManifest.delete(extendsByManifest.keys().next().value!);
    extendsByManifest.set(file, { stamp, extends: found });
    return found;
  }

  /** Finds one set of a chain; `from` is the set whose manifest names it. */
  private async locate(
    ref: string,
    from: { dir: string; source: string } | undefined,
    options: ResolveChainOptions,
  ): Promise<{ dir: string; source: string }> {
    const extendedBy = from ? ` (extended by ${from.source})` : '';
    if (isTemplateSetUrl(ref) || (from && isTemplateSetUrl(from.source) && isPath(ref))) {
      const url = isTemplateSetUrl(ref) ? ref : resolveTemplateSetUrl(ref, from!.source);
      if (!options.fetchUrl) {
        throw new InputError(`svcgen: template set ${url}${extendedBy} is a URL; only the scaffolder action reads sets from URLs`);
      }
      return { dir: await options.fetchUrl(url), source: url };
    }
    if (isPath(ref) && (from || options.allowPath)) {
      const dir = path.resolve(from ? from.dir : '.', ref);
      if (!(await exists(path.join(dir, MANIFEST_FILE)))) {
        throw new InputError(`svcgen: template set ${ref}${extendedBy}: no ${MANIFEST_FILE} in ${dir}`);
      }
      return { dir, source: this.sourceOfFolder(dir) };
    }
    try {
      return { dir: await this.resolveTemplateSet(ref), source: ref };
    } catch (err) {
      if (from && err instanceof InputError) throw new InputError(err.message.replace(/^svcgen: /, `svcgen: ${from.source} extends: `));
      throw err;
    }
  }

  /**
   * How the answers file records a set found by path: its name when it is one of the search
   * folders' sets, else its path relative to the working folder, so that no machine's absolute
   * path lands in a generated repository unless the set lives outside the working folder.
   */
  private sourceOfFolder(dir: string): string {
    for (const root of this.searchDirs) {
      if (path.dirname(dir) === root) return path.basename(dir);
    }
    const relative = path.relative(process.cwd(), dir);
    if (!relative) return '.';
    if (relative.startsWith('..') || path.isAbsolute(relative)) return dir;
    // `./x`, never `x`: a bare word would read as a set name.
    return `./${relative.split(path.sep).join('/')}`;
  }

  /**
   * Validates `values` and renders a set, in memory: a chain from {@link resolveChain}, or the
   * folder of a set (with its bases, if it extends any). Throws the core's `SvcgenError`s.
   */
  async render(set: string | TemplateChain, values: unknown): Promise<Glue.Output> {
    const compiled = await this.compiled(set);
    return withCore(core => compiled(core).render(values));
  }

  /** Fails with a `SvcgenError` of kind "version" unless the set's version satisfies `range`. */
  async checkVersion(set: string | TemplateChain, range: string): Promise<void> {
    const compiled = await this.compiled(set);
    withCore(core => compiled(core).checkVersion(range));
  }

  /**
   * The changes that bring a repository generated by `from` with `oldValues` up to what `to`
   * generates with `newValues`: the core's three-way merge (svcgen::update). Writes nothing.
   */
  async update(options: UpdateOptions): Promise<UpdateResult> {
    const files = options.files ?? (await readRepoFiles(options.repoDir!));
    const { index, data } = packRepo(files);
    const update = await this.runUpdate(options.from, options.to, options.oldValues, options.newValues, index, data);
    return { ...update, files: splitUpdate(update) };
  }

  /** The core's update of a packed repository (in the render worker for `SvcgenWorkerEngine`). */
  protected async runUpdate(
    from: TemplateChain,
    to: TemplateChain,
    oldValues: unknown,
    newValues: unknown,
    index: RepoIndex[],
    data: Uint8Array,
  ): Promise<Glue.Update> {
    const old = await this.compiled(from);
    // The same chain twice must be one set: compiling it again would free the first.
    const same = chainKey(from) === chainKey(to);
    const next = same ? old : await this.compiled(to);
    return withCore(core => {
      const oldSet = old(core);
      return core.update(oldSet, oldValues, same ? oldSet : next(core), newValues, index, data);
    });
  }

  /** The set's parameters after every layer's narrowing (for forms and tests). */
  async parameters(set: string | TemplateChain): Promise<Record<string, Record<string, unknown>>> {
    const compiled = await this.compiled(set);
    return withCore(core => compiled(core).parameters());
  }

  /**
   * The compiled set, cached or compiled now; call the returned function inside the same
   * synchronous `withCore` block as its use, so no other call can discard the instance between.
   */
  private async compiled(set: string | TemplateChain): Promise<(core: GlueModule) => Glue.TemplateSet> {
    const chain = typeof set === 'string' ? await this.resolveChain(path.resolve(set), { allowPath: true }) : set;
    const key = chainKey(chain);
    const cached = compiledSets.get(key);
    if (cached && (await unchanged(cached.watched))) {
      compiledSets.delete(key);
      compiledSets.set(key, cached);
      return () => cached.set;
    }
    const sources = await this.compile(chain);
    return core => sources.install(core);
  }

  /**
   * Compiles every template set found (the built-in ones and those in the configured folders) so
   * that no task pays for loading the WebAssembly core and compiling a set. Resolves to the
   * compiled sets' `name@version`; a set that fails to compile is reported in `failed`.
   */
  async warmUp(): Promise<{ compiled: string[]; failed: { name: string; error: Error }[] }> {
    const compiled: string[] = [];
    const failed: { name: string; error: Error }[] = [];
    for (const name of await this.listTemplateSets()) {
      try {
        const chain = await this.resolveChain(name);
        const sources = await this.compile(chain);
        const info = withCore(core => sources.install(core).info());
        compiled.push(`${info.name}@${info.version}`);
      } catch (err) {
        failed.push({ name, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    return { compiled, failed };
  }

  /** Reads a chain's sets; `install` then compiles it in the current instance and caches it. */
  private async compile(chain: TemplateChain): Promise<{ install(core: GlueModule): Glue.TemplateSet }> {
    const key = chainKey(chain);
    const read = await Promise.all(
      chain.dirs.map(async (dir, i) => {
        const { files, folders } = await listFiles(dir);
        const watched = isBuiltIn(dir) ? [] : [...folders, ...files];
        return { source: chain.sources[i], files: await readSources(files), watched };
      }),
    );
    const { index, data } = packLayers(read);
    const watched = read.flatMap(r => r.watched);
    return {
      install(core) {
        const set = core.TemplateSet.load(index, data);
        compiledSets.get(key)?.set.free();
        compiledSets.delete(key);
        compiledSets.set(key, { set, watched });
        for (const [oldest, { set: evicted }] of compiledSets) {
          if (compiledSets.size <= MAX_COMPILED_SETS) break;
          evicted.free();
          compiledSets.delete(oldest);
        }
        return set;
      },
    };
  }

  /** The printable tree of `files`, with sizes and a total line. */
  formatTree(files: Glue.OutputFile[]): string {
    return withCore(core => core.formatTree(files));
  }
}

function chainKey(chain: TemplateChain): string {
  return chain.dirs.map((dir, i) => `${path.resolve(dir)}\u0000${chain.sources[i]}`).join('\n');
}

/** Splits a render's byte buffer into one `Uint8Array` view per file. */
export function splitOutput(output: Glue.Output): RenderedFile[] {
  const data = output.data;
  const result: RenderedFile[] = [];
  let offset = 0;
  for (const file of output.files) {
    result.push({ path: file.path, executable: file.executable, contents: data.subarray(offset, offset + file.size) });
    offset += file.size;
  }
  if (offset !== data.length) {
    throw new Error(`svcgen: output sizes add up to ${offset} bytes but the data holds ${data.length}`);
  }
  return result;
}

/** Splits an update's byte buffer into one `Uint8Array` view per change. */
export function splitUpdate(update: Glue.Update): UpdatedFile[] {
  const data = update.data;
  let offset = 0;
  const result = update.changes.map(change => {
    const contents = data.subarray(offset, offset + change.size);
    offset += change.size;
    return { ...change, contents };
  });
  if (offset !== data.length) {
    throw new Error(`svcgen: update sizes add up to ${offset} bytes but the data holds ${data.length}`);
  }
  return result;
}

function cachedFor(dir: string): CompiledSet | undefined {
  const prefix = `${path.resolve(dir)}\u0000`;
  for (const [key, compiled] of compiledSets) if (key.startsWith(prefix)) return compiled;
  return undefined;
}

/** Test hooks; not part of the package's public API. */
export const __testing = {
  /** Executes a trap in the current instance, through the same guard as every other call. */
  trap(): void {
    withCore(core => core.__trapForTesting());
  },
  /** The glue module of the current instance (loading one if none), to compare identities. */
  instance(): object {
    return currentGlue();
  },
  /** Increases each time a fresh instance is loaded. */
  generation(): number {
    return instanceGeneration;
  },
  /** Whether a chain whose first set is in `dir` is compiled and cached in the current instance. */
  isCached(dir: string): boolean {
    return cachedFor(dir) !== undefined;
  },
  /** How many files and folders are checked for changes before each render of the cached set in `dir`. */
  watchedCount(dir: string): number | undefined {
    return cachedFor(dir)?.watched.length;
  },
};
