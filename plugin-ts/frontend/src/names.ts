// What both extension systems share, kept free of React and WebAssembly so the entry points stay small.

/** The field's name, as templates write it: `ui:field: SvcgenPreview`. */
export const SVCGEN_PREVIEW_FIELD = 'SvcgenPreview';

/**
 * The field's validation: none. The preview shows problems but never reports them to the form, so
 * it cannot block the submission (the svcgen:render step validates again on the server).
 */
export function noProblems(): void {}
