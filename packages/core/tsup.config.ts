import { defineConfig } from 'tsup';

export default defineConfig({
  // The content worker is its own entry: worker threads load it by path next to the main bundle.
  entry: { index: 'src/index.ts', testing: 'src/testing.ts', 'content-worker': 'src/backup/content-worker.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts', testing: 'src/testing.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  shims: true,
  splitting: true,
});
