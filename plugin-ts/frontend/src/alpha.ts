// The new frontend system: the field as a FormFieldBlueprint extension and a module of the
// scaffolder plugin. Neither loads the field's code nor the WebAssembly glue until a form uses it.

import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';

/** @alpha The SvcgenPreview form field, loaded on first use. */
export const svcgenPreviewFormField = FormFieldBlueprint.make({
  name: 'svcgen-preview',
  params: {
    field: () => import('./field.js').then(m => m.svcgenPreviewField),
  },
});

/** @alpha Adds the SvcgenPreview field to the scaffolder: list it in the app's features. */
export const svcgenPreviewModule = createFrontendModule({
  pluginId: 'scaffolder',
  extensions: [svcgenPreviewFormField],
});

export default svcgenPreviewModule;
