// The field's component as both extension systems register it: a React.lazy wrapper, so the
// component and the WebAssembly glue download only when a form renders the field (the new system's
// scaffolder calls every form-field loader when it loads its fields, whether a form uses them or not).

import { createElement, lazy, Suspense } from 'react';
import type { SvcgenPreviewFieldProps } from './SvcgenPreviewField.js';

const LazyField = lazy(() => import('./SvcgenPreviewField.js').then(m => ({ default: m.SvcgenPreviewField })));

/** The SvcgenPreview component; shows `loading` in the field's own markup while its code downloads. */
export function SvcgenPreviewLazy(props: SvcgenPreviewFieldProps): JSX.Element {
  const fallback = createElement(
    'div',
    { 'data-testid': 'svcgen-preview' },
    createElement('span', { 'data-testid': 'svcgen-preview-status' }, 'loading'),
  );
  return createElement(Suspense, { fallback }, createElement(LazyField, props));
}
