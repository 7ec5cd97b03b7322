import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createSvcgenRenderAction } from './actions';

/**
 * Adds the `svcgen:render` action to the scaffolder. Reads the optional `svcgen.templateDirs`.
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
      },
      async init({ scaffolder, config }) {
        const templateDirs = config.getOptionalStringArray('svcgen.templateDirs');
        scaffolder.addActions(createSvcgenRenderAction({ templateDirs }));
      },
    });
  },
});
