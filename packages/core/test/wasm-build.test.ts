import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { generate, MODULES } from '../scripts/build-wasm.mjs';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

describe('generated WebAssembly modules', () => {
  for (const module of MODULES as { wat: string; ts: string }[]) {
    it(`${module.ts} is exactly ${module.wat} assembled (run scripts/build-wasm.mjs if not)`, async () => {
      expect(readFileSync(join(src, module.ts), 'utf8')).toBe(await generate(module));
    });
  }
});
