/*
 * The one place the svcgen WebAssembly core is loaded and called: inside the render worker for the
 * scaffolder action (worker.ts), in process for the preview CLI.
 *
 * - The wasm-bindgen glue (../wasm/svcgen.js) is required once per thread, lazily.
 * - A template set is read without leaving it: a symbolic link resolving outside the set's folder
 *   fails the set with an `InputError` naming the link.
 * - Compiled template sets are cached by folder. A set in a configured folder is recompiled when
 *   one of its files or folders changes (one parallel round of `stat`s per call); the sets built
 *   into this package change only with the package, so they are never checked again.
 * - A WebAssembly trap (a Rust panic, or `__trapForTesting`) leaves an instance unusable: the
 *   instance and every set compiled with it are dropped, a fresh instance serves the next call,
 *   and the current call fails with a `SvcgenCrashError`.
 */

import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@backstage/errors';
import type * as Glue from '../wasm/svcgen';

export type {
  Output,
  OutputFile,
  Problem,
  SourceFile,
  SvcgenError,
  TemplateInfo,
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

interface CompiledSet {
  set: Glue.TemplateSet;
  /** The set's files and folders as they were when it was compiled; none for built-in sets. */
  watched: Stamped[];
}

let glue: GlueModule | undefined;
let instanceGeneration = 0;
const compiledSets = new Map<string, CompiledSet>();

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

interface Stamped {
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
async function unchanged(watched: Stamped[]): Promise<boolean> {
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

function readSources(files: FoundFile[]): Promise<Glue.SourceFile[]> {
  return Promise.all(
    files.map(async f => ({ path: f.path, contents: await fs.readFile(f.absolute), executable: f.executable })),
  );
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

  /** Validates `values` and renders the set in `setDir`, in memory. Throws the core's `SvcgenError`s. */
  async render(setDir: string, values: unknown): Promise<Glue.Output> {
    const dir = path.resolve(setDir);
    const cached = compiledSets.get(dir);
    if (cached && (await unchanged(cached.watched))) {
      return withCore(() => cached.set.render(values));
    }
    const sources = await this.compile(dir);
    // Compile and render in one synchronous block: no other call can discard the instance between the two.
    return withCore(core => sources.install(core).render(values));
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
        const dir = await this.resolveTemplateSet(name);
        const sources = await this.compile(dir);
        const info = withCore(core => sources.install(core).info());
        compiled.push(`${info.name}@${info.version}`);
      } catch (err) {
        failed.push({ name, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    return { compiled, failed };
  }

  /** Reads a set; `install` then compiles it in the current instance and caches it. */
  private async compile(dir: string): Promise<{ install(core: GlueModule): Glue.TemplateSet }> {
    const { files, folders } = await listFiles(dir);
    const sources = await readSources(files);
    const watched = isBuiltIn(dir) ? [] : [...folders, ...files];
    return {
      install(core) {
        const set = core.TemplateSet.load(sources);
        compiledSets.get(dir)?.set.free();
        compiledSets.set(dir, { set, watched });
        return set;
      },
    };
  }

  /** The printable tree of `files`, with sizes and a total line. */
  formatTree(files: Glue.OutputFile[]): string {
    return withCore(core => core.formatTree(files));
  }
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
  /** Whether the set in `dir` is compiled and cached in the current instance. */
  isCached(dir: string): boolean {
    return compiledSets.has(path.resolve(dir));
  },
  /** How many files and folders are checked for changes before each render of the cached set in `dir`. */
  watchedCount(dir: string): number | undefined {
    return compiledSets.get(path.resolve(dir))?.watched.length;
  },
};
