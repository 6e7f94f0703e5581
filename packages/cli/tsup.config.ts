import { defineConfig } from 'tsup';

export default defineConfig({
  // Every file in src/commands is one command, loaded by name at run time: adding a command is
  // adding one file. startup.ts runs before the rest loads (see bin/cairn.js).
  entry: ['src/main.ts', 'src/startup.ts', 'src/commands/*.ts'],
  format: ['esm'],
  dts: { entry: { main: 'src/main.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: true,
});
