// The pure parts of the preview: values from the live form, the file tree of a render, problems by
// field, the version check. No React, no WebAssembly: node --test runs them (preview.test.ts).

/** One generated file as the core's `render` lists it. */
export interface OutputFile {
  path: string;
  size: number;
  executable: boolean;
}

/** One problem of the values, as the core's `SvcgenError` carries it. */
export interface Problem {
  field: string;
  code: string;
  message: string;
}

/**
 * The values the svcgen:render step will receive, from the whole live form: the field's own key
 * dropped (it never has a value), and every value RJSF leaves undefined or empty when a field was
 * never filled in or was cleared, so the set's defaults apply as they will on the server.
 */
export function formValues(formData: unknown, ownKey: string | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (formData === null || typeof formData !== 'object' || Array.isArray(formData)) {
    return values;
  }
  for (const [key, value] of Object.entries(formData)) {
    if (key === ownKey || value === undefined || value === '') {
      continue;
    }
    values[key] = value;
  }
  return values;
}

/** A folder of the tree: its folders, then its files, each sorted by name. */
export interface FolderNode {
  /** The folder's name (`''` for the root). */
  name: string;
  /** Path relative to the output root, without trailing slash (`''` for the root). */
  path: string;
  folders: FolderNode[];
  files: FileNode[];
  /** Files below this folder, at any depth. */
  fileCount: number;
  /** Bytes below this folder, at any depth. */
  size: number;
}

/** A file of the tree. */
export interface FileNode {
  name: string;
  path: string;
  size: number;
  /** The file's position in the render's file list (and so its slice of `data`). */
  index: number;
}

/** The tree of folders and files of a render's file list (paths with `/` separators). */
export function buildTree(files: readonly OutputFile[]): FolderNode {
  const root = folder('', '');
  const folders = new Map<string, FolderNode>([['', root]]);
  files.forEach((file, index) => {
    const parts = file.path.split('/');
    const name = parts.pop()!;
    let parent = root;
    let path = '';
    for (const part of parts) {
      path = path ? `${path}/${part}` : part;
      let next = folders.get(path);
      if (!next) {
        next = folder(part, path);
        folders.set(path, next);
        parent.folders.push(next);
      }
      parent = next;
    }
    parent.files.push({ name, path: file.path, size: file.size, index });
  });
  finish(root);
  return root;
}

function folder(name: string, path: string): FolderNode {
  return { name, path, folders: [], files: [], fileCount: 0, size: 0 };
}

function finish(node: FolderNode): void {
  node.folders.sort((a, b) => compare(a.name, b.name));
  node.files.sort((a, b) => compare(a.name, b.name));
  node.fileCount = node.files.length;
  node.size = node.files.reduce((sum, f) => sum + f.size, 0);
  for (const child of node.folders) {
    finish(child);
    node.fileCount += child.fileCount;
    node.size += child.size;
  }
}

// By UTF-16 code units like the core's byte order for ASCII paths; no locale, so every browser agrees.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where each file's bytes start in the render's `data`. */
export function fileOffsets(files: readonly OutputFile[]): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const file of files) {
    offsets.push(offset);
    offset += file.size;
  }
  return offsets;
}

/** A file's rendered contents as text (invalid UTF-8 shows as U+FFFD). */
export function fileText(files: readonly OutputFile[], data: Uint8Array, index: number): string {
  const start = fileOffsets(files)[index];
  if (start === undefined) {
    throw new RangeError(`no file at index ${index}`);
  }
  return new TextDecoder('utf-8').decode(data.subarray(start, start + files[index].size));
}

/** A byte count as people read it: `512 B`, `1.4 KB`, `2.0 MB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What a failed render means for the preview. */
export type RenderFailure =
  /** The values break rules: every problem, grouped by field in the core's order. */
  | { kind: 'problems'; byField: Map<string, Problem[]> }
  /** Anything else (a template error for these values, a crash): one message. */
  | { kind: 'error'; message: string };

/**
 * Reads an error thrown by the core's `render` or `validate`: a `SvcgenError` of kind "validation"
 * carries its problems; any other error becomes one message.
 */
export function readFailure(err: unknown): RenderFailure {
  const e = err as { name?: unknown; kind?: unknown; problems?: unknown; message?: unknown };
  if (
    e !== null &&
    typeof e === 'object' &&
    e.name === 'SvcgenError' &&
    e.kind === 'validation' &&
    Array.isArray(e.problems) &&
    e.problems.length > 0
  ) {
    return { kind: 'problems', byField: groupProblems(e.problems as Problem[]) };
  }
  const message = e !== null && typeof e === 'object' && typeof e.message === 'string' ? e.message : String(err);
  return { kind: 'error', message };
}

/** Problems grouped by field, fields in the order of their first problem. */
export function groupProblems(problems: readonly Problem[]): Map<string, Problem[]> {
  const byField = new Map<string, Problem[]>();
  for (const problem of problems) {
    const list = byField.get(problem.field);
    if (list) {
      list.push(problem);
    } else {
      byField.set(problem.field, [problem]);
    }
  }
  return byField;
}

/**
 * Why the page must not run the backend's core or set, or undefined when the versions agree: the
 * page's glue and the backend's WebAssembly must be the same svcgen build, or the preview could
 * differ from what the task renders.
 */
export function versionMismatch(backend: string | null | undefined, page: string): string | undefined {
  if (!backend) {
    return `the backend did not say which svcgen it runs; this page runs ${page}`;
  }
  if (backend !== page) {
    return `the backend runs svcgen ${backend}, this page ${page}`;
  }
  return undefined;
}

/** Bytes of base64 text (the set's packed files as the backend sends them). */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}
