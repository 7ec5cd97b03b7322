// The legacy frontend system: SvcgenPreviewFieldExtension, for <ScaffolderFieldExtensions>. The
// field's code and the WebAssembly glue load only when a form renders the field (React.lazy).
// The new frontend system's module is in ./alpha.

import { createElement, lazy, Suspense } from 'react';
import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import { scaffolderPlugin } from '@backstage/plugin-scaffolder';
import type { SvcgenPreviewFieldProps } from './SvcgenPreviewField.js';
import { noProblems, SVCGEN_PREVIEW_FIELD } from './names.js';

export { SVCGEN_PREVIEW_FIELD } from './names.js';
export type { SvcgenPreviewFieldProps, SvcgenPreviewUiOptions } from './SvcgenPreviewField.js';

const LazyField = lazy(() => import('./SvcgenPreviewField.js').then(m => ({ default: m.SvcgenPreviewField })));

/** Shows `loading` in the field's own markup while its code downloads. */
function SvcgenPreviewLazy(props: SvcgenPreviewFieldProps): JSX.Element {
  const fallback = createElement(
    'div',
    { 'data-testid': 'svcgen-preview' },
    createElement('span', { 'data-testid': 'svcgen-preview-status' }, 'loading'),
  );
  return createElement(Suspense, { fallback }, createElement(LazyField, props));
}

/** The SvcgenPreview field for the legacy frontend system. */
export const SvcgenPreviewFieldExtension = scaffolderPlugin.provide(
  createScaffolderFieldExtension({
    name: SVCGEN_PREVIEW_FIELD,
    component: SvcgenPreviewLazy,
    validation: noProblems,
  }),
);
