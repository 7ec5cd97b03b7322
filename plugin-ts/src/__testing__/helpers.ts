import './jestShim';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoggerService } from '@backstage/backend-plugin-api';

/** The package folder (dist-test/__testing__/ -> plugin-ts/). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(PACKAGE_ROOT, 'test-fixtures');
export const TINY_SET = path.join(FIXTURES, 'tiny');
export const BROKEN_SET = path.join(FIXTURES, 'broken');
/** A set whose files each loop until the core stops them at its fuel limit (a template error). */
export const SLOW_SET = path.join(FIXTURES, 'slow');
/** The repository's example values for the microservice set. */
export const USER_SERVICE_VALUES = path.resolve(PACKAGE_ROOT, '..', 'examples', 'values', 'user-service.yaml');

/** A fresh empty folder, removed by `cleanup`. */
export async function tempDir(prefix = 'svcgen-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * A copy of the tiny set, as `<root>/linked`, with symbolic links added: `links` maps a path in
 * the set to the link's target. `root` is a folder for `templateDirs`; remove it with `removeDir`.
 */
export async function setWithLinks(links: Record<string, string>): Promise<{ root: string; dir: string }> {
  const root = await tempDir('svcgen-links-');
  const dir = path.join(root, 'linked');
  await fs.cp(TINY_SET, dir, { recursive: true });
  for (const [link, target] of Object.entries(links)) {
    await fs.mkdir(path.dirname(path.join(dir, link)), { recursive: true });
    await fs.symlink(target, path.join(dir, link));
  }
  return { root, dir };
}

export interface FileEntry {
  contents: Buffer;
  executable: boolean;
}

/** Every regular file under `root`, keyed by relative `/` path. */
export async function readTree(root: string): Promise<Map<string, FileEntry>> {
  const result = new Map<string, FileEntry>();
  async function walk(dir: string, rel: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const abs = path.join(dir, entry.name);
      const relative = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(abs, relative);
      else if (entry.isFile()) {
        const stat = await fs.stat(abs);
        result.set(relative, { contents: await fs.readFile(abs), executable: (stat.mode & 0o111) !== 0 });
      }
    }
  }
  await walk(root, '');
  return new Map([...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A LoggerService that records every message, for asserting the task log. */
export function recordingLogger(): LoggerService & { lines: string[] } {
  const lines: string[] = [];
  const logger = {
    lines,
    info: (message: string) => void lines.push(message),
    warn: (message: string) => void lines.push(`warn: ${message}`),
    error: (message: string) => void lines.push(`error: ${message}`),
    debug: () => {},
    child: () => logger,
  };
  return logger;
}
