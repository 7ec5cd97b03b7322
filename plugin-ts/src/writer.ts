/*
 * Writes a rendered output to disk: the one writer shared by the scaffolder action and the
 * preview CLI.
 */

import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { CONCURRENT_FILES, mapLimited, Output, RenderedFile, splitOutput } from './engine';

/** What {@link writeOutput} wrote. */
export interface WriteResult {
  /** The files written, relative to the target folder, with `/` separators, in output order. */
  paths: string[];
  /** Total bytes written. */
  bytes: number;
}

/** Opened without following a symbolic link at the file's own path (its folders are checked before). */
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/**
 * Writes every file of `output` under `targetDir`, creating folders as needed; executable files
 * get mode 0755, the others 0644. Existing files are overwritten.
 *
 * Each folder is checked once (symbolic links included) to stay inside `targetDir` and created
 * once, parents first; then the files are written {@link CONCURRENT_FILES} at a time. A
 * scaffolding step spends its time in these system calls, not in rendering (BENCHMARKS.md).
 */
export async function writeOutput(output: Output, targetDir: string): Promise<WriteResult> {
  const files = splitOutput(output);
  await fs.mkdir(targetDir, { recursive: true });
  const folders = new Set<string>();
  for (const file of files) {
    for (let i = file.path.indexOf('/'); i !== -1; i = file.path.indexOf('/', i + 1)) {
      folders.add(file.path.slice(0, i));
    }
  }
  // A Set keeps insertion order, in which every parent comes before its children.
  for (const folder of folders) {
    await fs.mkdir(resolveSafeChildPath(targetDir, folder), { recursive: true });
  }
  await mapLimited(files, CONCURRENT_FILES, file => writeFile(targetDir, file));
  return { paths: files.map(f => f.path), bytes: files.reduce((sum, f) => sum + f.contents.length, 0) };
}

async function writeFile(targetDir: string, file: RenderedFile): Promise<void> {
  const destination = path.join(targetDir, file.path);
  const mode = file.executable ? 0o755 : 0o644;
  let handle;
  try {
    handle = await fs.open(destination, WRITE_FLAGS, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error(`svcgen: refusing to write ${file.path}: a symbolic link is in its place`);
    }
    throw err;
  }
  try {
    await handle.writeFile(file.contents);
    // open applies the mode only to new files, and through the umask.
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** `1.5 KiB` for human-readable log lines. */
export function formatKiB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
