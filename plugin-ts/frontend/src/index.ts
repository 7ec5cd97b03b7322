// The legacy frontend system: SvcgenPreviewFieldExtension, for <ScaffolderFieldExtensions>. The
// field's code and the WebAssembly glue load only when a form renders the field (lazyField.ts).
// The new frontend system's module is in ./alpha.

import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import { scaffolderPlugin } from '@backstage/plugin-scaffolder';
import { SvcgenPreviewLazy } from './lazyField.js';
import { noProblems, SVCGEN_PREVIEW_FIELD } from './names.js';

export { SVCGEN_PREVIEW_FIELD } from './names.js';
export type { SvcgenPreviewFieldProps, SvcgenPreviewUiOptions } from './SvcgenPreviewField.js';

/** The SvcgenPreview field for the legacy frontend system. */
export const SvcgenPreviewFieldExtension = scaffolderPlugin.provide(
  createScaffolderFieldExtension({
    name: SVCGEN_PREVIEW_FIELD,
    component: SvcgenPreviewLazy,
    validation: noProblems,
  }),
);
