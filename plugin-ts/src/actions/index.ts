export { createSvcgenRenderAction } from './render';
export { DEFAULT_TEMPLATE_SET } from '../engine';
export type { SvcgenRenderActionOptions } from './render';
