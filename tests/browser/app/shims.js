// Injected into every module of the bundle by esbuild (`inject`), as @backstage/cli's webpack
// config provides them: the npm `buffer` package where code uses Node's global Buffer.
export { Buffer } from 'buffer';
