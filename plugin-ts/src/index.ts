/**
 * Backstage scaffolder module providing the `svcgen:render` action.
 *
 * @packageDocumentation
 */

export * from './actions';
export { svcgenModule as default } from './module';
