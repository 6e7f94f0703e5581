/**
 * Fuzzing the decompressors through `decompressBlob`: mutated LZ4 payloads (4-byte size prefix +
 * block) and zstd frames, each with a declared raw length that is the original one, the one the
 * mutated bytes claim, or an interesting value. Decoding must give the declared length exactly or
 * a CORRUPT_DATA error, never allocate past the limit, never crash.
 *
 * Corpus files hold `declared raw length (u32 LE) ‖ stored bytes`.
 */
import { describe, expect, it } from 'vitest';
import { decompressBlob, zstdAvailable } from '../../src/compress/index.js';
import { compressedCase, compressibleInputs } from './fixtures.js';
import { describeFailures, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { INTERESTING_U32, mutateBytes, Rng } from './mutate.js';

/** Largest raw length the fuzz cases may declare (bounds each case's allocation). */
const MAX_RAW = 4 * 1024 * 1024;

function container(declared: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, declared >>> 0, true);
  out.set(data, 4);
  return out;
}

for (const compression of ['lz4', 'zstd'] as const) {
  describe.runIf(compression === 'lz4' || zstdAvailable())(`fuzz: ${compression} payloads`, () => {
    it('mutated payloads decode to the declared length or fail with CORRUPT_DATA', async () => {
      const seeds = compressibleInputs(new Rng(7)).map((raw) => compressedCase(raw, compression));
      maybeWriteSeeds(compression, seeds);
      const report = await runFuzz({
        decoder: compression,
        seeds,
        cases: scaled(8000),
        codes: ['CORRUPT_DATA'],
        mutate: (base, r, bases) => {
          const declared = base.length >= 4 ? new DataView(base.buffer, base.byteOffset).getUint32(0, true) : 0;
          const m = mutateBytes(base.subarray(4), r, {
            others: bases.map((b) => b.subarray(4)),
            fieldOffsets: [0, 4, 5, 6],
          });
          // What the stored bytes claim themselves: LZ4's size prefix (zstd's is checked by the decoder).
          const claimed = m.bytes.length >= 4 ? new DataView(m.bytes.buffer).getUint32(0, true) : 0;
          const choice = r.below(10);
          const size = choice < 6 ? declared : choice < 9 ? claimed : r.pick(INTERESTING_U32);
          return { bytes: container(size, m.bytes), ops: [...m.ops, `declared=${size}`] };
        },
        run: (input) => {
          if (input.length < 4) return;
          const declared = new DataView(input.buffer, input.byteOffset).getUint32(0, true);
          const out = decompressBlob(input.subarray(4), compression, declared, MAX_RAW);
          if (out.length !== declared) throw new Error(`decoded ${out.length} bytes, declared ${declared}`);
        },
      });
      expect(report.failures, describeFailures(report)).toEqual([]);
      expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 4);
    });
  });
}
