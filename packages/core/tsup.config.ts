import { defineConfig } from 'tsup';

export default defineConfig({
  // The content and restore workers are their own entries: worker threads load them by path next
  // to the main bundle.
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    // Loaded by the cairn executable before anything else (see startup.ts): keep it small.
    startup: 'src/startup.ts',
    'content-worker': 'src/backup/content-worker.ts',
    'restore-worker': 'src/restore/restore-worker.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts', testing: 'src/testing.ts', startup: 'src/startup.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  shims: true,
  splitting: true,
});
