import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libs = ['contracts', 'config', 'collections', 'redis', 'persistence', 'metrics', 'health'];

// Unit, integration and e2e specs run serially against the Redis and PostgreSQL that global-setup starts.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: Object.fromEntries(libs.map((lib) => [`@app/${lib}`, resolve(__dirname, `libs/${lib}/src`)])),
  },
  test: {
    globals: true,
    include: ['{apps,libs,test}/**/*.{spec,int-spec,e2e-spec}.ts'],
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
