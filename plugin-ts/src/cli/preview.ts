/*
 * svcgen-preview: renders a template set locally with the same engine and writer as the
 * svcgen:render action. A set that `extends` another is rendered with its whole chain; a
 * repository's `.svcgen/answers.yaml` names the set and values it was generated from.
 * `svcgen-preview update` (update.ts) brings such a repository up to date.
 */

import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as YAML from 'yaml';
import {
  DEFAULT_TEMPLATE_SET,
  isSvcgenError,
  isTemplateSetUrl,
  MANIFEST_FILE,
  Output,
  SvcgenEngine,
  TemplateChain,
  TemplateInfo,
} from '../engine';
import { type Answers, AnswersFileError, readAnswers } from '../repoUpdate';
import { formatKiB, writeOutput } from '../writer';
import { updateMain } from './update';

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  invalidValues: 1,
  usage: 2,
  failure: 3,
  /** `update` only: the changes were made, and some files hold conflicts to resolve by hand. */
  conflicts: 4,
} as const;

const USAGE = `Usage: svcgen-preview [options]
       svcgen-preview update --repo DIR [options]   (see svcgen-preview update --help)

Renders an svcgen template set locally, with the same engine as the svcgen:render action.
Without --out, prints the tree of files that would be generated and writes nothing.

Options:
  --template SET           the template set to render: a built-in set's name (default:
                           ${DEFAULT_TEMPLATE_SET}) or a folder with a manifest.yaml (a path with
                           a "/", or a file: URL); a set that extends others is rendered with them
  --template-dir DIR       the same as --template with a folder
  --answers FILE           re-render from a generated repository's .svcgen/answers.yaml: its set
                           (unless --template is given) and its values (secrets are not in it:
                           pass them with --set)
  --values FILE            values from a JSON or YAML file; repeatable, later files win (over
                           the answers file's values too)
  --set KEY=VALUE          one value, parsed as a YAML scalar: true, 3 and null are typed,
                           anything else is a string; repeatable, applied after --values
  --set-string KEY=VALUE   one value, always a string; repeatable
  --out DIR                write the files into DIR (created if missing, files overwritten)
  --json                   print the result as JSON instead of a tree
  -h, --help               show this help

Exit codes: 0 done, 1 invalid values (every problem is listed), 2 usage error,
3 error in the template set or while writing.
`;

/** Where the CLI writes; replaced in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: CliIo = {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
};

export class UsageError extends Error {}

/** An error's message without the "svcgen: " prefix the engine adds for task logs. */
export function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^svcgen: /, '');
}

/** Parses `--set` values like helm: a YAML scalar (boolean, number, null) or else the text itself. */
export function parseSetValue(text: string): unknown {
  if (text === '') return '';
  const doc = YAML.parseDocument(text, { schema: 'core' });
  if (doc.errors.length || doc.comment || !YAML.isScalar(doc.contents) || doc.contents.comment) return text;
  return doc.contents.value;
}

export function splitAssignment(option: string, assignment: string): [string, string] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`${option} expects KEY=VALUE, got ${JSON.stringify(assignment)}`);
  return [assignment.slice(0, eq), assignment.slice(eq + 1)];
}

export async function readValuesFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read values file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    // JSON is YAML, so one parser reads both.
    parsed = YAML.parse(text);
  } catch (err) {
    throw new UsageError(`values file ${file} is not valid JSON or YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`values file ${file} must hold a mapping of parameter values`);
  }
  return parsed as Record<string, unknown>;
}

/** An answers file, read for the CLI: its problems are usage errors (exit 2). */
export async function readAnswersFile(file: string): Promise<Answers> {
  try {
    return await readAnswers(file);
  } catch (err) {
    if (err instanceof AnswersFileError) throw new UsageError(err.message);
    throw err;
  }
}

export interface Options {
  /** --template, or --template-dir (a folder path) */
  template?: string;
  /** Whether `template` came from --template-dir, so is a folder whatever it looks like. */
  templateIsDir: boolean;
  answers?: Answers;
  values: Record<string, unknown>;
  out?: string;
  json: boolean;
  help: boolean;
}

async function parseOptions(argv: string[]): Promise<Options> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: {
        template: { type: 'string' },
        'template-dir': { type: 'string' },
        answers: { type: 'string' },
        values: { type: 'string', multiple: true },
        set: { type: 'string', multiple: true },
        'set-string': { type: 'string', multiple: true },
        out: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: opts, tokens } = parsed;
  if (opts.template !== undefined && opts['template-dir'] !== undefined) {
    throw new UsageError('use either --template or --template-dir, not both');
  }

  const answers = opts.answers === undefined ? undefined : await readAnswersFile(opts.answers);
  // The answers' values first: --values and --set override them.
  const values: Record<string, unknown> = { ...answers?.values };
  for (const file of opts.values ?? []) Object.assign(values, await readValuesFile(file));
  // --set and --set-string apply in command-line order, after every --values file.
  for (const token of tokens) {
    if (token.kind !== 'option' || (token.name !== 'set' && token.name !== 'set-string')) continue;
    const [key, text] = splitAssignment(`--${token.name}`, token.value ?? '');
    values[key] = token.name === 'set' ? parseSetValue(text) : text;
  }

  return {
    template: opts.template ?? opts['template-dir'],
    templateIsDir: opts['template-dir'] !== undefined,
    answers,
    values,
    out: opts.out,
    json: opts.json ?? false,
    help: opts.help ?? false,
  };
}

/** Whether a --template value names a folder rather than a set name. */
function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes(path.sep) || ref === '.' || ref === '..' || path.isAbsolute(ref);
}

/**
 * The set to render: a name (looked up like the action does) or a folder; `ref` is what the chain
 * is resolved from, and so the source the answers file records (an absolute path or a file: URL).
 */
export type SetRef = { kind: 'name'; ref: string } | { kind: 'folder'; ref: string; dir: string; shown: string };

/**
 * Reads a set reference: `--template`, `--template-dir` (always a folder) or the source an answers
 * file records. `file:` URLs are folders; other URLs are refused, as the CLI has no URL reader. An
 * answers file records a folder inside the working folder by its relative path, which for a folder
 * right there is a bare name: such a source is that folder when it holds a set, else a set name.
 */
export function setReference(options: Pick<Options, 'template' | 'templateIsDir' | 'answers'>): SetRef {
  const { template, templateIsDir, answers } = options;
  const ref = template ?? answers?.source;
  if (ref === undefined) {
    if (answers) {
      throw new UsageError(`answers file ${answers.file} names no template set (template.layers[0].source): pass --template`);
    }
    return { kind: 'name', ref: DEFAULT_TEMPLATE_SET };
  }
  const fromAnswers = template === undefined;
  if (ref.startsWith('file:')) return { kind: 'folder', ref, dir: fileURLToPath(ref), shown: ref };
  if (isTemplateSetUrl(ref)) {
    const where = fromAnswers ? `answers file ${answers!.file}: the set was read from ${ref}` : `--template ${ref}`;
    throw new UsageError(
      `${where}: the preview CLI reads local folders and file: URLs only; pass --template with a local copy of the set (for a git tree, a clone at that tag)`,
    );
  }
  if (templateIsDir || looksLikePath(ref) || (fromAnswers && existsSync(path.resolve(ref, MANIFEST_FILE)))) {
    const dir = path.resolve(ref);
    return { kind: 'folder', ref: dir, dir, shown: ref };
  }
  return { kind: 'name', ref };
}

/** The CLI's URL reader for bases named by URL: `file:` URLs only. */
export async function readLocalUrl(url: string): Promise<string> {
  if (url.startsWith('file:')) {
    const dir = fileURLToPath(url);
    const manifest = await fs.stat(path.join(dir, MANIFEST_FILE)).catch(() => undefined);
    if (!manifest?.isFile()) throw new Error(`template set ${url}: no ${MANIFEST_FILE} in ${dir}`);
    return dir;
  }
  throw new Error(
    `template set ${url} is read from a URL, which the preview CLI cannot do: only the scaffolder action reads sets from URLs`,
  );
}

/** `acme-microservice@1.0.0 extends microservice@0.1.0`: the chain, top first. */
export function describeChain(template: TemplateInfo): string {
  const layers = template.layers?.length ? template.layers : [template];
  return layers.map(l => `${l.name}@${l.version}`).join(' extends ');
}

function summary(output: Output, secrets: Set<string>, out?: string): object {
  // Secret parameters are never printed (as in the answers file and the action's output).
  const values = Object.fromEntries(Object.entries(output.validated.values).filter(([name]) => !secrets.has(name)));
  return {
    template: output.template,
    values,
    derived: output.validated.derived,
    files: output.files,
    ...(out !== undefined && { out }),
  };
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === 'update') return updateMain(argv.slice(1), io);
  let options: Options;
  try {
    options = await parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`svcgen-preview: ${err.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const engine = new SvcgenEngine();
  if (options.help) {
    const sets = await engine.listTemplateSets();
    io.stdout(`${USAGE}\nBuilt-in template sets: ${sets.length ? sets.join(', ') : 'none'}\n`);
    return EXIT.ok;
  }

  // The set asked for must exist (a usage error); what its manifest extends is the set's own
  // problem (exit 3, below).
  let ref: SetRef;
  try {
    ref = setReference(options);
    if (ref.kind === 'folder') {
      const stat = await fs.stat(ref.dir).catch(() => undefined);
      if (!stat?.isDirectory()) throw new UsageError(`template folder ${ref.shown} does not exist`);
    } else {
      await engine.resolveTemplateSet(ref.ref);
    }
  } catch (err) {
    io.stderr(`svcgen-preview: ${messageOf(err)}\n`);
    return EXIT.usage;
  }

  try {
    const chain: TemplateChain = await engine.resolveChain(ref.ref, {
      allowPath: true,
      fetchUrl: readLocalUrl,
    });
    const output = await engine.render(chain, options.values);
    const label = describeChain(output.template);
    const made = options.answers?.template;
    if (made && (made.name !== output.template.name || made.version !== output.template.version)) {
      io.stderr(
        `svcgen-preview: note: ${options.answers!.file} was written by ${String(made.name)}@${String(made.version)}; rendering ${output.template.name}@${output.template.version}\n`,
      );
    }
    const secrets = async () =>
      new Set(Object.entries(await engine.parameters(chain)).filter(([, p]) => p.secret === true).map(([name]) => name));
    if (options.out === undefined) {
      if (options.json) {
        io.stdout(`${JSON.stringify(summary(output, await secrets()), null, 2)}\n`);
      } else {
        io.stdout(`${label} would generate (nothing written; add --out DIR to write):\n${engine.formatTree(output.files)}`);
      }
      return EXIT.ok;
    }
    const outDir = path.resolve(options.out);
    const written = await writeOutput(output, outDir);
    if (options.json) {
      io.stdout(`${JSON.stringify(summary(output, await secrets(), outDir), null, 2)}\n`);
    } else {
      io.stdout(
        `${label} generated:\n${engine.formatTree(output.files)}` +
          `wrote ${written.paths.length} files (${formatKiB(written.bytes)}) to ${outDir}\n`,
      );
    }
    return EXIT.ok;
  } catch (err) {
    if (isSvcgenError(err)) {
      if (options.json) {
        const { kind, detail, file, line, problems, message } = err;
        io.stdout(`${JSON.stringify({ error: { kind, message, detail, file, line, problems } }, null, 2)}\n`);
      }
      io.stderr(`svcgen-preview: ${err.message}\n`);
      return err.kind === 'validation' ? EXIT.invalidValues : EXIT.failure;
    }
    io.stderr(`svcgen-preview: ${messageOf(err)}\n`);
    return EXIT.failure;
  }
}

/** The bin entry point: runs `main` on the process arguments and sets the exit code. */
export function run(): void {
  main(process.argv.slice(2)).then(
    code => {
      process.exitCode = code;
    },
    err => {
      process.stderr.write(`svcgen-preview: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
