// The field for the new frontend system, loaded only when a form asks for it (alpha.ts).

import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { SvcgenPreviewField } from './SvcgenPreviewField.js';
import { noProblems, SVCGEN_PREVIEW_FIELD } from './names.js';

/** The SvcgenPreview form field. */
export const svcgenPreviewField = createFormField({
  name: SVCGEN_PREVIEW_FIELD,
  component: SvcgenPreviewField,
  validation: noProblems,
});
