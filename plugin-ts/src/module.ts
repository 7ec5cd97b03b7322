import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createSvcgenRenderAction, createSvcgenUpdateAction } from './actions';
import { createPreviewRouter } from './preview/route';
import { SvcgenWorkerEngine } from './worker';

/**
 * Adds the `svcgen:render` and `svcgen:update` actions to the scaffolder. Reads the optional `svcgen.templateDirs`;
 * template sets named by URL are read through the backend's URL readers (`coreServices.urlReader`,
 * configured by `integrations` and `backend.reading.allow`). Serves the form's live preview under the
 * scaffolder's base URL: `svcgen/preview/core.wasm` (the browser build of the core) and
 * `svcgen/preview/sets/:name` (a set as the action compiles it); both need a user or service token.
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
        http: coreServices.httpRouter,
      },
      async init({ scaffolder, config, logger, urlReader, lifecycle, http }) {
        const templateDirs = config.getOptionalStringArray('svcgen.templateDirs');
        scaffolder.addActions(
          createSvcgenRenderAction({ templateDirs, urlReader, lifecycle }),
          createSvcgenUpdateAction({ templateDirs, urlReader, lifecycle }),
        );
        // The live preview reads sets the way the action does: the same folders, the same chains.
        http.use(createPreviewRouter({ engine: new SvcgenWorkerEngine({ templateDirs }) }));
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
