import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import initWabt from 'wabt';
import { FASTCDC_WASM_BASE64 } from '../../src/chunking/fastcdc-wasm.js';

const chunkingDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'chunking');

describe('generated WebAssembly module', () => {
  it('fastcdc-wasm.ts is exactly fastcdc.wat assembled (run scripts/build-fastcdc-wasm.mjs if not)', async () => {
    const wabt = await initWabt();
    const mod = wabt.parseWat('fastcdc.wat', readFileSync(join(chunkingDir, 'fastcdc.wat'), 'utf8'));
    try {
      mod.validate();
      // Same options as scripts/build-fastcdc-wasm.mjs.
      const { buffer } = mod.toBinary({ log: false, write_debug_names: false });
      expect(Buffer.from(FASTCDC_WASM_BASE64, 'base64').equals(Buffer.from(buffer))).toBe(true);
    } finally {
      mod.destroy();
    }
  });
});
