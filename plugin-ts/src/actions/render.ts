import * as path from 'node:path';
import { type LifecycleService, resolveSafeChildPath, type UrlReaderService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import * as YAML from 'yaml';
import { DEFAULT_TEMPLATE_SET, isSvcgenError, isTemplateSetUrl, type Output } from '../engine';
import { UrlTemplateSets } from '../urlSets';
import { SvcgenWorkerEngine } from '../worker';
import { formatKiB, writeOutput } from '../writer';
import { examples } from './render.examples';

/** The answers file the core writes into every render (see the core's template_set.rs). */
const ANSWERS_FILE = '.svcgen/answers.yaml';

/** Options of {@link createSvcgenRenderAction}. */
export interface SvcgenRenderActionOptions {
  /**
   * Folders each holding template sets (one subfolder with a manifest.yaml per set), searched
   * in order before the sets built into this package; a set found here hides a built-in set of
   * the same name. Relative folders are resolved against the backend's working directory.
   */
  templateDirs?: string[];
  /**
   * The backend's URL reader (`coreServices.urlReader`): with it, `templateSet` (and a set's
   * `extends`) may be a URL it can read as a tree, such as a GitHub or GitLab tree at a tag.
   */
  urlReader?: UrlReaderService;
  /**
   * Where sets read from URLs are cached; owned by the action. Defaults to a fresh private folder
   * under the OS temporary folder.
   */
  urlCacheDir?: string;
  /** With it, the sets read from URLs are removed from disk when the backend shuts down. */
  lifecycle?: LifecycleService;
}

/**
 * Creates the `svcgen:render` action: validates the values against a template set's manifest,
 * renders every file in memory, and only then writes them into the workspace. The render runs in
 * the process's render worker thread, never on the backend's main thread.
 *
 * @public
 */
export function createSvcgenRenderAction(options: SvcgenRenderActionOptions = {}) {
  const engine = new SvcgenWorkerEngine({ templateDirs: options.templateDirs });
  const urlSets = options.urlReader && new UrlTemplateSets(options.urlReader, { cacheDir: options.urlCacheDir });
  if (urlSets) options.lifecycle?.addShutdownHook(() => urlSets.dispose());

  return createTemplateAction({
    id: 'svcgen:render',
    description:
      'Validates the values against an svcgen template set and renders the set into the workspace. ' +
      'Every problem with the values is reported at once and nothing is written unless all of them are valid.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        templateSet: z =>
          z
            .string({
              description:
                'The template set to render: the name of a set built into the module or found in svcgen.templateDirs, ' +
                "or a URL the backend's URL readers can read as a tree (a GitHub or GitLab tree at a tag or branch, " +
                `e.g. https://github.com/acme/templates/tree/v1.2.0/microservice). Defaults to "${DEFAULT_TEMPLATE_SET}".`,
            })
            .optional(),
        templateVersion: z =>
          z
            .string({
              description:
                'An npm-style semver range (e.g. "^1.2.0", ">=1.0.0 <2.0.0") the template set\'s version must satisfy; ' +
                'the step fails before writing anything otherwise.',
            })
            .optional(),
        values: z =>
          z.record(z.unknown(), {
            description:
              "The template set's parameter values, usually the form's parameters. They are validated against the set's manifest.",
          }),
        targetPath: z =>
          z
            .string({
              description: 'Folder inside the workspace to write the files to. Defaults to the workspace root.',
            })
            .optional(),
      },
      output: {
        files: z =>
          z.array(z.string(), {
            description: 'The files written, relative to the workspace, with "/" separators.',
          }),
        derived: z =>
          z.record(z.unknown(), {
            description: 'The values the template set derived from the input, e.g. serviceSnake.',
          }),
        templateSet: z => z.string({ description: 'Name of the rendered template set.' }),
        templateVersion: z => z.string({ description: 'Version of the rendered template set.' }),
        templateSource: z =>
          z.string({
            description:
              'Where the template set was found, as the generated .svcgen/answers.yaml records it: its URL, or its name (a set built into the module or in svcgen.templateDirs).',
          }),
        templateLayers: z =>
          z.array(
            z.object({
              name: z.string(),
              version: z.string(),
              source: z.string(),
            }),
            {
              description:
                'The chain of template sets rendered: the set asked for first, then the set it extends, and so on (one entry for a set without extends).',
            },
          ),
      },
    },

    async handler(ctx) {
      const started = performance.now();
      // zod defaults are not applied to ctx.input by the scaffolder; apply them here.
      const setName = ctx.input.templateSet ?? DEFAULT_TEMPLATE_SET;
      const targetPath = ctx.input.targetPath ?? './';

      let targetDir: string;
      try {
        targetDir = resolveSafeChildPath(ctx.workspacePath, targetPath);
      } catch (err) {
        throw new InputError(
          `svcgen: targetPath ${JSON.stringify(targetPath)} is outside the workspace; use a relative folder such as "./" or "service"`,
          err,
        );
      }
      const targetRel = path.relative(ctx.workspacePath, targetDir).split(path.sep).join('/');
      const targetShown = targetRel ? `./${targetRel}` : './';

      if (isTemplateSetUrl(setName) && !urlSets) {
        throw new InputError(
          `svcgen: template set ${setName} is a URL, but this action was created without a URL reader; add the module to the backend (it reads URLs through coreServices.urlReader)`,
        );
      }
      // Sets named by URL (the one asked for, or a base its manifest extends) come through the
      // backend's URL readers, cached by ETag; names and relative paths are resolved by the engine.
      const chain = await engine.resolveChain(setName, { fetchUrl: urlSets?.fetcher(ctx.logger) });
      let output: Output;
      try {
        // An empty range (a template passing an unset parameter) asks for no particular version.
        const range = ctx.input.templateVersion?.trim();
        if (range) await engine.checkVersion(chain, range);
        output = await engine.render(chain, ctx.input.values);
      } catch (err) {
        if (isSvcgenError(err) && err.kind === 'validation') {
          // No cause: InputError would append the same problems to the message a second time.
          throw new InputError(`svcgen: template set "${setName}": ${err.message}`);
        }
        if (isSvcgenError(err) && err.kind === 'version') {
          const from = isTemplateSetUrl(setName) ? ` (read from ${setName})` : '';
          throw new InputError(`svcgen: templateVersion: ${err.detail}${from}`);
        }
        throw err;
      }
      const { name, version } = output.template;
      // As the answers file records them: URLs and set names, never a folder of this machine.
      const layers = output.template.layers.map(({ name: n, version: v, source }) => ({ name: n, version: v, source }));
      const shownLayers = layers.length > 1 ? ` (${layers.map(l => `${l.name}@${l.version}`).join(' extends ')})` : '';
      ctx.logger.info(`svcgen: validated values for ${name}@${version}${shownLayers} from ${layers[0].source}`);
      ctx.logger.info(`svcgen: planned ${output.files.length} files`);
      // Outputs are shown on the task page and stored with the task: never a secret's value.
      const derived = redact(output.validated.derived, secretValues(output)) as Record<string, unknown>;

      const written = await writeOutput(output, targetDir);
      const ms = Math.round(performance.now() - started);
      ctx.logger.info(
        `svcgen: wrote ${written.paths.length} files (${formatKiB(written.bytes)}) to ${targetShown} in ${ms} ms` +
          (ctx.isDryRun ? ' (dry run)' : ''),
      );

      ctx.output(
        'files',
        written.paths.map(p => (targetRel ? `${targetRel}/${p}` : p)),
      );
      ctx.output('derived', derived);
      ctx.output('templateSet', name);
      ctx.output('templateVersion', version);
      ctx.output('templateSource', layers[0].source);
      ctx.output('templateLayers', layers);
    },
  });
}

/**
 * The values of the parameters marked `secret: true`: those the core leaves out of the answers
 * file it writes (every other parameter is recorded there, even when null).
 */
function secretValues(output: Output): string[] {
  const index = output.files.findIndex(f => f.path === ANSWERS_FILE);
  if (index < 0) return [];
  const offset = output.files.slice(0, index).reduce((sum, f) => sum + f.size, 0);
  const text = Buffer.from(output.data.buffer, output.data.byteOffset + offset, output.files[index].size).toString('utf8');
  const recorded = (YAML.parse(text) as { values?: Record<string, unknown> } | null)?.values ?? {};
  return Object.entries(output.validated.values)
    .filter(([key, value]) => !(key in recorded) && value !== null && value !== undefined && value !== '')
    .map(([, value]) => (typeof value === 'string' ? value : JSON.stringify(value)));
}

/** `value` with every occurrence of a secret in its strings replaced by `***` (as Backstage redacts task secrets). */
function redact(value: unknown, secrets: string[]): unknown {
  if (!secrets.length) return value;
  if (typeof value === 'string') return secrets.reduce((text, secret) => text.split(secret).join('***'), value);
  if (Array.isArray(value)) return value.map(v => redact(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, secrets)]));
  }
  // A secret number or boolean derived as is: compare its text.
  return value !== null && secrets.includes(JSON.stringify(value)) ? '***' : value;
}
