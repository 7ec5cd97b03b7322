/*
 * svcgen-preview: renders a template set locally with the same engine and writer as the
 * svcgen:render action.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as YAML from 'yaml';
import { DEFAULT_TEMPLATE_SET, isSvcgenError, Output, SvcgenEngine } from '../engine';
import { formatKiB, writeOutput } from '../writer';

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  invalidValues: 1,
  usage: 2,
  failure: 3,
} as const;

const USAGE = `Usage: svcgen-preview [options]

Renders an svcgen template set locally, with the same engine as the svcgen:render action.
Without --out, prints the tree of files that would be generated and writes nothing.

Options:
  --template NAME          built-in template set to render (default: ${DEFAULT_TEMPLATE_SET})
  --template-dir DIR       render the template set in DIR instead (a folder with a manifest.yaml)
  --values FILE            values from a JSON or YAML file; repeatable, later files win
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

const processIo: CliIo = {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
};

class UsageError extends Error {}

/** An error's message without the "svcgen: " prefix the engine adds for task logs. */
function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^svcgen: /, '');
}

/** Parses `--set` values like helm: a YAML scalar (boolean, number, null) or else the text itself. */
export function parseSetValue(text: string): unknown {
  if (text === '') return '';
  const doc = YAML.parseDocument(text, { schema: 'core' });
  if (doc.errors.length || doc.comment || !YAML.isScalar(doc.contents) || doc.contents.comment) return text;
  return doc.contents.value;
}

function splitAssignment(option: string, assignment: string): [string, string] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`${option} expects KEY=VALUE, got ${JSON.stringify(assignment)}`);
  return [assignment.slice(0, eq), assignment.slice(eq + 1)];
}

async function readValuesFile(file: string): Promise<Record<string, unknown>> {
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

interface Options {
  templateName?: string;
  templateDir?: string;
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

  const values: Record<string, unknown> = {};
  for (const file of opts.values ?? []) Object.assign(values, await readValuesFile(file));
  // --set and --set-string apply in command-line order, after every --values file.
  for (const token of tokens) {
    if (token.kind !== 'option' || (token.name !== 'set' && token.name !== 'set-string')) continue;
    const [key, text] = splitAssignment(`--${token.name}`, token.value ?? '');
    values[key] = token.name === 'set' ? parseSetValue(text) : text;
  }

  return {
    templateName: opts.template,
    templateDir: opts['template-dir'],
    values,
    out: opts.out,
    json: opts.json ?? false,
    help: opts.help ?? false,
  };
}

function summary(output: Output, out?: string): object {
  return {
    template: output.template,
    values: output.validated.values,
    derived: output.validated.derived,
    files: output.files,
    ...(out !== undefined && { out }),
  };
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
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

  let setDir: string;
  if (options.templateDir !== undefined) {
    setDir = path.resolve(options.templateDir);
    const stat = await fs.stat(setDir).catch(() => undefined);
    if (!stat?.isDirectory()) {
      io.stderr(`svcgen-preview: template folder ${options.templateDir} does not exist\n`);
      return EXIT.usage;
    }
  } else {
    try {
      setDir = await engine.resolveTemplateSet(options.templateName ?? DEFAULT_TEMPLATE_SET);
    } catch (err) {
      io.stderr(`svcgen-preview: ${messageOf(err)}\n`);
      return EXIT.usage;
    }
  }

  try {
    const output = await engine.render(setDir, options.values);
    const label = `${output.template.name}@${output.template.version}`;
    if (options.out === undefined) {
      if (options.json) {
        io.stdout(`${JSON.stringify(summary(output), null, 2)}\n`);
      } else {
        io.stdout(`${label} would generate (nothing written; add --out DIR to write):\n${engine.formatTree(output.files)}`);
      }
      return EXIT.ok;
    }
    const outDir = path.resolve(options.out);
    const written = await writeOutput(output, outDir);
    if (options.json) {
      io.stdout(`${JSON.stringify(summary(output, outDir), null, 2)}\n`);
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
