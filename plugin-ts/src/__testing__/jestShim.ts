/*
 * createMockActionContext (and the backend-test-utils mocks it uses) call the global `jest.fn`.
 * Under node:test there is no jest: this installs the small part of `jest.fn` they need.
 * Import this module before @backstage/plugin-scaffolder-node-test-utils.
 */

type AnyFn = (...args: unknown[]) => unknown;

/** A recording function with the jest.fn methods the Backstage test utilities call. */
export interface MockFn extends AnyFn {
  mock: { calls: unknown[][] };
  mockImplementation(impl: AnyFn): MockFn;
  mockReturnValue(value: unknown): MockFn;
  mockResolvedValue(value: unknown): MockFn;
}

export function fn(impl?: AnyFn): MockFn {
  let implementation = impl;
  const mock = ((...args: unknown[]) => {
    mock.mock.calls.push(args);
    return implementation?.(...args);
  }) as MockFn;
  mock.mock = { calls: [] };
  mock.mockImplementation = next => {
    implementation = next;
    return mock;
  };
  mock.mockReturnValue = value => mock.mockImplementation(() => value);
  mock.mockResolvedValue = value => mock.mockImplementation(() => Promise.resolve(value));
  return mock;
}

const globals = globalThis as { jest?: unknown };
globals.jest ??= { fn };
