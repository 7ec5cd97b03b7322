// The field for the new frontend system, loaded through FormFieldBlueprint's loader (alpha.ts). Its
// component is the lazy wrapper: the scaffolder runs every field loader when it loads its fields.

import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { SvcgenPreviewLazy } from './lazyField.js';
import { noProblems, SVCGEN_PREVIEW_FIELD } from './names.js';

/** The SvcgenPreview form field. */
export const svcgenPreviewField = createFormField({
  name: SVCGEN_PREVIEW_FIELD,
  component: SvcgenPreviewLazy,
  validation: noProblems,
});
