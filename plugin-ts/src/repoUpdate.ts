/*
 * What `svcgen-preview update` and the `svcgen:update` action share: the values of both renders
 * and writing an update's changes into a checkout.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { isTemplateSetUrl, type SvcgenEngine, type TemplateChain, type UpdatedFile } from './engine';

/** Where a generated repository keeps the set and values it was generated from. */
export const ANSWERS_FILE = '.svcgen/answers.yaml';

/** An answers file that cannot be read or is not one: the message names the file and why. */
export class AnswersFileError extends Error {}

/** What an answers file holds that an update or a re-render uses. */
export interface Answers {
  file: string;
  /** Where the set asked for was read (template.layers[0].source), and its name and version. */
  source?: string;
  template?: { name?: unknown; version?: unknown };
  values: Record<string, unknown>;
}

export async function readAnswers(file: string): Promise<Answers> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new AnswersFileError(`cannot read answers file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (err) {
    throw new AnswersFileError(`answers file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMapping(parsed) || !isMapping(parsed.template) || (parsed.values != null && !isMapping(parsed.values))) {
    throw new AnswersFileError(`answers file ${file} is not an svcgen answers file (template and values mappings)`);
  }
  const layers = parsed.template.layers;
  const top = Array.isArray(layers) && isMapping(layers[0]) ? layers[0] : undefined;
  return {
    file,
    source: typeof top?.source === 'string' && top.source !== '' ? top.source : undefined,
    template: parsed.template,
    values: (parsed.values as Record<string, unknown> | null) ?? {},
  };
}

/**
 * The values of both renders: the recorded ones for the old set, with the changed ones over them
 * for the new set. Secrets are not in the answers file: one given among `changed` renders both
 * sides, so an unchanged secret does not show up as a change.
 */
export async function updateValues(
  engine: SvcgenEngine,
  from: TemplateChain,
  recorded: Record<string, unknown>,
  changed: Record<string, unknown>,
): Promise<{ oldValues: Record<string, unknown>; newValues: Record<string, unknown>; secrets: string[] }> {
  const parameters = await engine.parameters(from);
  const secretNames = Object.keys(parameters).filter(name => parameters[name]?.secret === true);
  const secrets = Object.fromEntries(
    Object.entries(changed).filter(([name]) => secretNames.includes(name) && !(name in recorded)),
  );
  return { oldValues: { ...recorded, ...secrets }, newValues: { ...recorded, ...changed }, secrets: secretNames };
}

/** A version as a tag names it: `1.2.0` or `v1.2.0`, with an optional pre-release or build. */
const EXACT_VERSION = /^v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$/;

/**
 * The URL of a set read from git at a tag named after its version, moved to the tag of `wanted`:
 * `…/tree/v1.0.0/sets/x` recorded at 1.0.0, wanted `1.1.0` → `…/tree/v1.1.0/sets/x` (the tag keeps
 * its style, with or without `v`). Undefined when `wanted` is not one exact version (a range needs
 * the tags listed, which a URL reader cannot do) or no path segment of `source` names the recorded
 * version. This is how the update template reaches a new version of a set pinned at a tag.
 */
export function atVersionTag(source: string, recordedVersion: string, wanted: string | undefined): string | undefined {
  const target = EXACT_VERSION.exec(wanted?.trim() ?? '')?.[1];
  if (!target || !isTemplateSetUrl(source)) return undefined;
  const url = new URL(source);
  const segments = url.pathname.split('/');
  const at = segments.findIndex(s => s === recordedVersion || s === `v${recordedVersion}`);
  if (at < 0) return undefined;
  segments[at] = segments[at]!.startsWith('v') ? `v${target}` : target;
  url.pathname = segments.join('/');
  return url.toString();
}

/**
 * Refuses a change whose path leaves the repository or passes through a symbolic link (the
 * repository was read without following links; writing through one could land anywhere), or
 * that a file or folder of the repository stands in the way of.
 */
async function checkWritable(root: string, file: string): Promise<void> {
  const parts = file.split('/');
  if (parts.some(p => p === '' || p === '.' || p === '..') || path.isAbsolute(file)) {
    throw new Error(`refusing to write ${JSON.stringify(file)}: not a path inside the repository`);
  }
  let current = root;
  for (const [i, part] of parts.entries()) {
    current = path.join(current, part);
    const stat = await fs.lstat(current).catch(() => undefined);
    if (!stat) return;
    const shown = parts.slice(0, i + 1).join('/');
    if (i < parts.length - 1) {
      if (stat.isSymbolicLink()) throw new Error(`refusing to write ${file}: ${shown} is a symbolic link`);
      if (!stat.isDirectory()) throw new Error(`cannot write ${file}: ${shown} is a file in the repository`);
    } else if (stat.isDirectory()) {
      throw new Error(`cannot write ${file}: it is a folder in the repository`);
    }
  }
}

/** Writes an update's changes into the repository at `root`: contents, executable bits, deletions. */
export async function applyChanges(root: string, files: UpdatedFile[]): Promise<void> {
  // Every path is checked before anything is written, so a refused change writes nothing.
  for (const file of files) await checkWritable(root, file.path);
  for (const file of files) {
    const target = path.join(root, ...file.path.split('/'));
    const stat = await fs.lstat(target).catch(() => undefined);
    if (file.kind === 'deleted') {
      await fs.rm(target, { force: true });
      await removeEmptyParents(root, path.dirname(target));
      continue;
    }
    // A link where the template has a file is replaced, never written through.
    if (stat?.isSymbolicLink()) await fs.rm(target);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, file.contents);
    const mode = stat?.isFile() ? stat.mode & 0o7777 : 0o644;
    await fs.chmod(target, file.executable ? mode | ((mode & 0o444) >> 2) : mode & ~0o111);
  }
}

/** Removes the folders a deletion left empty, up to (not including) the repository's root. */
async function removeEmptyParents(root: string, dir: string): Promise<void> {
  while (dir !== root && dir.startsWith(root + path.sep)) {
    if ((await fs.readdir(dir)).length) return;
    await fs.rmdir(dir);
    dir = path.dirname(dir);
  }
}
