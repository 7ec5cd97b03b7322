import * as path from 'node:path';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { DEFAULT_TEMPLATE_SET, isSvcgenError } from '../engine';
import { SvcgenWorkerEngine } from '../worker';
import { formatKiB, writeOutput } from '../writer';
import { examples } from './render.examples';

/** Options of {@link createSvcgenRenderAction}. */
export interface SvcgenRenderActionOptions {
  /**
   * Folders each holding template sets (one subfolder with a manifest.yaml per set), searched
   * in order before the sets built into this package; a set found here hides a built-in set of
   * the same name. Relative folders are resolved against the backend's working directory.
   */
  templateDirs?: string[];
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
              description: `Name of the template set to render: a set built into the module or found in svcgen.templateDirs. Defaults to "${DEFAULT_TEMPLATE_SET}".`,
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

      const setDir = await engine.resolveTemplateSet(setName);
      let output;
      try {
        output = await engine.render(setDir, ctx.input.values);
      } catch (err) {
        if (isSvcgenError(err) && err.kind === 'validation') {
          // No cause: InputError would append the same problems to the message a second time.
          throw new InputError(`svcgen: template set "${setName}": ${err.message}`);
        }
        throw err;
      }
      const { name, version } = output.template;
      ctx.logger.info(`svcgen: validated values for ${name}@${version}`);
      ctx.logger.info(`svcgen: planned ${output.files.length} files`);

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
      ctx.output('derived', output.validated.derived);
      ctx.output('templateSet', name);
      ctx.output('templateVersion', version);
    },
  });
}
