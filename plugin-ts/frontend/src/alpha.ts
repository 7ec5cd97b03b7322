// The new frontend system: the field as a FormFieldBlueprint extension and a module of the
// scaffolder plugin. The field's code and the WebAssembly glue load only when a form renders it.

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
