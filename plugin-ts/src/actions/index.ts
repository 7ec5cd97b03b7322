export { createSvcgenRenderAction } from './render';
export { createSvcgenUpdateAction } from './update';
export { DEFAULT_TEMPLATE_SET } from '../engine';
export type { SvcgenRenderActionOptions } from './render';
export type { SvcgenUpdateActionOptions } from './update';
