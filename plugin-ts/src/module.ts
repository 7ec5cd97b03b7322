import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createSvcgenRenderAction, createSvcgenUpdateAction } from './actions';
import { SvcgenWorkerEngine } from './worker';

/**
 * Adds the `svcgen:render` and `svcgen:update` actions to the scaffolder. Reads the optional `svcgen.templateDirs`;
 * template sets named by URL are read through the backend's URL readers (`coreServices.urlReader`,
 * configured by `integrations` and `backend.reading.allow`).
 *
 * @public
 */
export const svcgenModule = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'svcgen',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        urlReader: coreServices.urlReader,
        lifecycle: coreServices.lifecycle,
      },
      async init({ scaffolder, config, logger, urlReader, lifecycle }) {
        const templateDirs = config.getOptionalStringArray('svcgen.templateDirs');
        scaffolder.addActions(
          createSvcgenRenderAction({ templateDirs, urlReader, lifecycle }),
          createSvcgenUpdateAction({ templateDirs, urlReader, lifecycle }),
        );
        // Start the render worker, load the WebAssembly core in it and compile the sets now, in the
        // background (compiled sets are shared by the process): no task pays the cold start, and a
        // broken set shows in the log.
        const started = performance.now();
        new SvcgenWorkerEngine({ templateDirs }).warmUp().then(
          ({ compiled, failed }) => {
            const ms = Math.round(performance.now() - started);
            logger.info(`svcgen: compiled template sets ${compiled.join(', ') || '(none)'} in ${ms} ms`);
            for (const { name, error } of failed) {
              logger.warn(`svcgen: template set "${name}" does not compile; tasks using it will fail: ${error.message}`);
            }
          },
          error => logger.warn(`svcgen: could not compile the template sets: ${error}`),
        );
      },
    });
  },
});
