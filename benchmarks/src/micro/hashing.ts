/**
 * BLAKE3 micro-benchmarks: each backend (native N-API fast path, WASM fallback) hashing the whole
 * random dataset as independent 1 MiB and 64 KiB messages (pack- and chunk-sized), plus keyed
 * mode (chunk ids) at 64 KiB. Hashing speed does not depend on content, so only `random` is used.
 */
import { type Blake3Impl, blake3Backends } from '@cairn/core';
import { type BenchCase, MiB } from '../harness.js';
import type { MicroSuite } from './index.js';

const KiB = 1024;

/** Hashes `data` as independent messages of `size` bytes. */
function hashInCalls(impl: Blake3Impl, data: Uint8Array, size: number, key?: Uint8Array): void {
  const opts = key ? { key } : undefined;
  for (let off = 0; off < data.length; off += size) impl.hash(data.subarray(off, off + size), opts);
}

export const hashingSuite: MicroSuite = {
  group: 'hashing',
  cases: ({ random }) => {
    const key = new Uint8Array(32).fill(7);
    const cases: BenchCase[] = [];
    for (const impl of [blake3Backends.native, blake3Backends.wasm]) {
      if (!impl) continue;
      const base = { group: 'hashing', dataset: random };
      cases.push(
        { ...base, name: `blake3 ${impl.name} 1MiB calls`, run: () => hashInCalls(impl, random.data, MiB) },
        { ...base, name: `blake3 ${impl.name} 64KiB calls`, run: () => hashInCalls(impl, random.data, 64 * KiB) },
        {
          ...base,
          name: `blake3 ${impl.name} keyed 64KiB calls`,
          run: () => hashInCalls(impl, random.data, 64 * KiB, key),
        },
      );
    }
    return cases;
  },
};
