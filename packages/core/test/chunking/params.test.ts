import { describe, expect, it } from 'vitest';
import { MASKS } from '../../src/chunking/gear-table.js';
import {
  CHUNK_MAX_UPPER_BOUND,
  chunkStream,
  FastCdcChunker,
  fastcdc,
  resolveChunkerParams,
} from '../../src/chunking/index.js';
import { CairnError } from '../../src/errors.js';

const good = { min: 4096, avg: 16384, max: 65536 };

function rejects(options: unknown, param: string): void {
  let caught: unknown;
  try {
    resolveChunkerParams(options as Parameters<typeof resolveChunkerParams>[0]);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CairnError);
  expect((caught as CairnError).code).toBe('INVALID_ARGUMENT');
  expect((caught as CairnError).message).toContain(param);
}

describe('chunker parameters', () => {
  it('derives bits and masks (round(log2(avg)), level 1 by default)', () => {
    const p = resolveChunkerParams(good);
    expect(p).toMatchObject({ min: 4096, avg: 16384, max: 65536, normalization: 1, seed: 0n, bits: 14 });
    expect(p.maskS).toBe(MASKS[15]);
    expect(p.maskL).toBe(MASKS[13]);
    // Rounded to nearest, not floored: 2^14.6 rounds to 15.
    expect(resolveChunkerParams({ ...good, avg: 24833 }).bits).toBe(15);
    expect(resolveChunkerParams({ ...good, avg: 23000 }).bits).toBe(14);
    expect(resolveChunkerParams({ ...good, normalization: 3 })).toMatchObject({ maskS: MASKS[17], maskL: MASKS[11] });
  });

  it('reduces seeds modulo 2^64', () => {
    expect(resolveChunkerParams({ ...good, seed: -1n }).seed).toBe(2n ** 64n - 1n);
    expect(resolveChunkerParams({ ...good, seed: 2n ** 64n + 5n }).seed).toBe(5n);
  });

  it('rejects min >= avg and avg >= max', () => {
    rejects({ min: 16384, avg: 16384, max: 65536 }, 'min');
    rejects({ min: 20000, avg: 16384, max: 65536 }, 'min');
    rejects({ min: 4096, avg: 65536, max: 65536 }, 'avg');
    rejects({ min: 4096, avg: 70000, max: 65536 }, 'avg');
  });

  it('rejects sizes out of range and non-integers', () => {
    rejects({ ...good, min: 63 }, 'min');
    rejects({ ...good, min: 0 }, 'min');
    rejects({ ...good, max: CHUNK_MAX_UPPER_BOUND + 1 }, 'max');
    rejects({ ...good, min: 4096.5 }, 'min');
    rejects({ ...good, avg: Number.NaN }, 'avg');
    rejects({ ...good, max: '65536' }, 'max');
    rejects({ min: 4096, avg: 16384 }, 'max');
    rejects(null, 'options');
  });

  it('rejects bad normalization levels, including ones that leave the MASKS table', () => {
    rejects({ ...good, normalization: 4 }, 'normalization');
    rejects({ ...good, normalization: -1 }, 'normalization');
    rejects({ ...good, normalization: 1.5 }, 'normalization');
    // avg 128 -> bits 7: level 3 needs MASKS[4], which is unused (zero).
    rejects({ min: 64, avg: 128, max: 1024, normalization: 3 }, 'normalization');
    // avg 32 MiB -> bits 25: level 1 needs MASKS[26].
    rejects({ min: 1 << 20, avg: 32 << 20, max: 64 << 20 }, 'normalization');
    expect(() => resolveChunkerParams({ min: 1 << 20, avg: 32 << 20, max: 64 << 20, normalization: 0 })).not.toThrow();
  });

  it('rejects a seed that is not a bigint', () => {
    rejects({ ...good, seed: 5 }, 'seed');
  });

  it('every entry point validates', () => {
    const bad = { min: 100, avg: 50, max: 1000 };
    expect(() => fastcdc(new Uint8Array(10), bad)).toThrow(CairnError);
    expect(() => new FastCdcChunker(bad)).toThrow(CairnError);
    // chunkStream validates when called, not at the first iteration.
    expect(() => chunkStream([], bad)).toThrow(CairnError);
  });

  it('validates the chunker buffer size', () => {
    for (const bufferSize of [65536, good.max + 65535, 2 ** 31, 1e6 + 0.5]) {
      let caught: unknown;
      try {
        new FastCdcChunker({ ...good, bufferSize });
      } catch (err) {
        caught = err;
      }
      expect((caught as CairnError).code).toBe('INVALID_ARGUMENT');
      expect((caught as CairnError).message).toContain('bufferSize');
    }
    expect(new FastCdcChunker({ ...good, bufferSize: good.max + 65536 }).bufferSize).toBeGreaterThanOrEqual(
      good.max + 65536,
    );
  });
});
