// @types/node 20 does not declare the WebAssembly namespace (it lives in TypeScript's DOM lib,
// which a backend package should not pull in); the engine only needs RuntimeError, a trap.
declare namespace WebAssembly {
  class RuntimeError extends Error {}
}
