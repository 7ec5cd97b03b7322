/*
 * Writes a rendered output to disk: the one writer shared by the scaffolder action and the
 * preview CLI.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { Output, splitOutput } from './engine';

/** What {@link writeOutput} wrote. */
export interface WriteResult {
  /** The files written, relative to the target folder, with `/` separators, in output order. */
  paths: string[];
  /** Total bytes written. */
  bytes: number;
}

/**
 * Writes every file of `output` under `targetDir`, creating folders as needed; executable files
 * get mode 0755, the others 0644. Existing files are overwritten. Every path is checked, symbolic
 * links included, to stay inside `targetDir` before anything is created for it.
 */
export async function writeOutput(output: Output, targetDir: string): Promise<WriteResult> {
  const files = splitOutput(output);
  await fs.mkdir(targetDir, { recursive: true });
  let bytes = 0;
  for (const file of files) {
    const destination = resolveSafeChildPath(targetDir, file.path);
    await fs.mkdir(path.dirname(destination), { recursive: true });
    const mode = file.executable ? 0o755 : 0o644;
    await fs.writeFile(destination, file.contents, { mode });
    // writeFile applies the mode only to new files, and through the umask.
    await fs.chmod(destination, mode);
    bytes += file.contents.length;
  }
  return { paths: files.map(f => f.path), bytes };
}

/** `1.5 KiB` for human-readable log lines. */
export function formatKiB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
