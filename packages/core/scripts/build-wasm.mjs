#!/usr/bin/env node
/**
 * Assembles the hand-written WebAssembly modules with wabt (pinned devDependency) and writes each
 * as a TypeScript file holding the module in base64, so nothing is built at runtime:
 *   src/chunking/fastcdc.wat -> src/chunking/fastcdc-wasm.ts
 *   src/compress/lz4.wat     -> src/compress/lz4-wasm.ts
 *
 *   node scripts/build-wasm.mjs          # regenerate
 *   node scripts/build-wasm.mjs --check  # exit 1 if a committed file is stale
 *
 * test/wasm-build.test.ts performs the same assembly and fails on drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Every module: its .wat, the generated .ts and the name of the exported constant. */
export const MODULES = [
  {
    wat: 'chunking/fastcdc.wat',
    ts: 'chunking/fastcdc-wasm.ts',
    name: 'FASTCDC_WASM_BASE64',
    what: 'The FastCDC kernel',
  },
  { wat: 'compress/lz4.wat', ts: 'compress/lz4-wasm.ts', name: 'LZ4_WASM_BASE64', what: 'The LZ4 block codec' },
];

/** The generated TypeScript for one module (also used by the test). */
export async function generate(module) {
  const wabt = await initWabt();
  const file = module.wat.split('/').pop();
  const mod = wabt.parseWat(file, readFileSync(join(src, module.wat), 'utf8'), { simd: true, bulk_memory: true });
  try {
    mod.validate();
    const { buffer } = mod.toBinary({ log: false, write_debug_names: false });
    const base64 = Buffer.from(buffer).toString('base64');
    return `/**
 * ${module.what} as a WebAssembly module (base64). GENERATED from ${file} by
 * scripts/build-wasm.mjs: do not edit; a test checks it matches the .wat.
 */

/** The assembled ${file} (${buffer.length} bytes), base64-encoded. */
export const ${module.name} =
  '${base64}';
`;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let stale = false;
  for (const module of MODULES) {
    const text = await generate(module);
    const out = join(src, module.ts);
    if (process.argv.includes('--check')) {
      if (readFileSync(out, 'utf8') !== text) {
        console.error(`${module.ts} is stale: run node scripts/build-wasm.mjs`);
        stale = true;
      } else console.log(`${module.ts} is up to date`);
    } else {
      writeFileSync(out, text);
      console.log(`wrote ${out}`);
    }
  }
  if (stale) process.exit(1);
}
