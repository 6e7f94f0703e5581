#!/usr/bin/env node
/**
 * Assembles src/chunking/fastcdc.wat with wabt (pinned devDependency) and writes
 * src/chunking/fastcdc-wasm.ts, which holds the module as base64 so nothing is built at runtime.
 *
 *   node scripts/build-fastcdc-wasm.mjs          # regenerate
 *   node scripts/build-fastcdc-wasm.mjs --check  # exit 1 if the committed file is stale
 *
 * test/chunking/wasm-build.test.ts performs the same assembly and fails on drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'chunking');
const watPath = join(dir, 'fastcdc.wat');
const outPath = join(dir, 'fastcdc-wasm.ts');

const wabt = await initWabt();
const mod = wabt.parseWat('fastcdc.wat', readFileSync(watPath, 'utf8'));
mod.validate();
const { buffer } = mod.toBinary({ log: false, write_debug_names: false });
mod.destroy();
const base64 = Buffer.from(buffer).toString('base64');

const text = `/**
 * The FastCDC kernel as a WebAssembly module (base64). GENERATED from fastcdc.wat by
 * scripts/build-fastcdc-wasm.mjs: do not edit; a test checks it matches the .wat.
 */

/** The assembled fastcdc.wat (${buffer.length} bytes), base64-encoded. */
export const FASTCDC_WASM_BASE64 =
  '${base64}';
`;

if (process.argv.includes('--check')) {
  const current = readFileSync(outPath, 'utf8');
  if (current !== text) {
    console.error('fastcdc-wasm.ts is stale: run node scripts/build-fastcdc-wasm.mjs');
    process.exit(1);
  }
  console.log('fastcdc-wasm.ts is up to date');
} else {
  writeFileSync(outPath, text);
  console.log(`wrote ${outPath} (${buffer.length} bytes of wasm)`);
}
