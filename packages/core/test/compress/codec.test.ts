import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  COMPRESSION_IDS,
  type Compression,
  compressBlob,
  compressionFromId,
  compressionId,
  DEFAULT_MAX_RAW_LENGTH,
  decompressBlob,
  zstdAvailable,
  zstdImplementation,
} from '../../src/compress/index.js';
import { readZstdFrameHeader } from '../../src/compress/zstd.js';
import { type CairnError, isCairnError } from '../../src/errors.js';

function caught(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    return err as CairnError;
  }
  return expect.fail('expected a CairnError');
}

function text(size: number): Uint8Array {
  const words = ['patient ', 'record ', 'admission ', 'discharge ', 'result ', 'the ', 'of ', '42 ', '\n'];
  const out = new Uint8Array(size);
  const enc = new TextEncoder();
  let off = 0;
  for (let i = 0; off < size; i = (i * 7 + 3) % 97) {
    const w = enc.encode(words[i % words.length]!);
    out.set(w.subarray(0, size - off), off);
    off += w.length;
  }
  return out;
}

/** Byte equality that reports the first difference instead of diffing megabytes. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array) {
  expect(actual.length).toBe(expected.length);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const diff = a.findIndex((byte, i) => byte !== expected[i]);
  expect(diff, `first differing byte at ${diff}`).toBe(-1);
}

const SIZES = [1, 17, 255, 256, 300, 4096, 65_535, 65_792, 100_000, 1 << 20];

describe('compression ids', () => {
  it('are the on-disk numbers none=0, lz4=1, zstd=2 and map both ways', () => {
    expect(COMPRESSION_IDS).toEqual({ none: 0, lz4: 1, zstd: 2 });
    for (const c of ['none', 'lz4', 'zstd'] as const) expect(compressionFromId(compressionId(c))).toBe(c);
  });

  it('refuses unknown ids with UNSUPPORTED_ALGORITHM and unknown names with INVALID_ARGUMENT', () => {
    for (const id of [3, 255, -1, 1.5, Number.NaN])
      expect(caught(() => compressionFromId(id)).code).toBe('UNSUPPORTED_ALGORITHM');
    for (const name of ['gzip', 'constructor', 'toString']) {
      expect(caught(() => compressionId(name as Compression)).code).toBe('INVALID_ARGUMENT');
    }
  });
});

const algos: Compression[] = ['lz4', ...(zstdAvailable() ? (['zstd'] as const) : [])];

describe.each(algos)('%s blobs', (algo) => {
  it('round-trip compressible data of many sizes', () => {
    for (const size of SIZES) {
      const raw = text(size);
      const blob = compressBlob(raw, algo);
      if (size >= 300) expect(blob.compression).toBe(algo);
      expect(blob.data.length).toBeLessThanOrEqual(raw.length);
      expectSameBytes(decompressBlob(blob.data, blob.compression, raw.length), raw);
    }
  });

  it('store incompressible and empty data raw (the same bytes, compression none)', () => {
    for (const raw of [randomBytes(100_000), new Uint8Array(0), new Uint8Array([7])]) {
      const blob = compressBlob(raw, algo);
      expect(blob.compression).toBe('none');
      expect(blob.data).toBe(raw);
      expect(decompressBlob(blob.data, 'none', raw.length)).toBe(raw);
    }
  });

  it('refuse a declared raw length that differs from the data (CORRUPT_DATA)', () => {
    const raw = text(50_000);
    const { data } = compressBlob(raw, algo);
    for (const wrong of [0, 1, raw.length - 1, raw.length + 1, 2 * raw.length]) {
      const err = caught(() => decompressBlob(data, algo, wrong));
      expect(err.code).toBe('CORRUPT_DATA');
    }
  });

  it('refuse truncated input (CORRUPT_DATA)', () => {
    const raw = text(50_000);
    const { data } = compressBlob(raw, algo);
    for (const keep of [0, 1, 3, 4, 5, 8, data.length >> 1, data.length - 1]) {
      expect(caught(() => decompressBlob(data.subarray(0, keep), algo, raw.length)).code).toBe('CORRUPT_DATA');
    }
  });

  it('never crash on flipped bits: CORRUPT_DATA or exactly rawLength bytes', () => {
    const raw = text(20_000);
    const { data } = compressBlob(raw, algo);
    for (let i = 0; i < 300; i++) {
      const bad = new Uint8Array(data);
      bad[(i * 7919) % bad.length]! ^= 1 << (i % 8);
      try {
        expect(decompressBlob(bad, algo, raw.length).length).toBe(raw.length);
      } catch (err) {
        expect((err as CairnError).code).toBe('CORRUPT_DATA');
      }
    }
  });

  it('refuse a declared raw length above the limit before allocating', () => {
    const { data } = compressBlob(text(10_000), algo);
    const err = caught(() => decompressBlob(data, algo, DEFAULT_MAX_RAW_LENGTH + 1));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.details?.field).toBe('rawLength');
    expect(caught(() => decompressBlob(data, algo, 10_000, 9_999)).details?.field).toBe('rawLength');
  });
});

describe('raw (none) blobs', () => {
  it('must have exactly the declared length', () => {
    expect(decompressBlob(new Uint8Array(5), 'none', 5)).toHaveLength(5);
    expect(caught(() => decompressBlob(new Uint8Array(5), 'none', 6)).code).toBe('CORRUPT_DATA');
  });

  it('refuse lengths that are not byte counts', () => {
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(caught(() => decompressBlob(new Uint8Array(0), 'none', n)).code).toBe('CORRUPT_DATA');
    }
  });

  it('refuse unknown compression names and non-byte input', () => {
    expect(caught(() => compressBlob(new Uint8Array(1), 'gzip' as Compression)).code).toBe('INVALID_ARGUMENT');
    expect(caught(() => decompressBlob(new Uint8Array(1), 'gzip' as Compression, 1)).code).toBe('INVALID_ARGUMENT');
    expect(caught(() => compressBlob('abc' as unknown as Uint8Array, 'lz4')).code).toBe('INVALID_ARGUMENT');
  });
});

describe('LZ4 size prefix', () => {
  it('a forged prefix is refused before decoding, without allocating what it claims', () => {
    const raw = text(100_000);
    const { data } = compressBlob(raw, 'lz4');
    expect(new DataView(data.buffer, data.byteOffset).getUint32(0, true)).toBe(raw.length);
    const forged = new Uint8Array(data);
    new DataView(forged.buffer).setUint32(0, 0xffff_fff0, true);
    const before = process.memoryUsage().arrayBuffers;
    const err = caught(() => decompressBlob(forged, 'lz4', raw.length));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.details?.field).toBe('sizePrefix');
    expect(err.message).toContain('bytes 0-3');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });
});

describe.skipIf(!zstdAvailable())(`zstd (${zstdImplementation() ?? 'unavailable'})`, () => {
  it('records the content size in the frame header, parsed exactly', () => {
    for (const size of [...SIZES, 300_000]) {
      const { data, compression } = compressBlob(text(size), 'zstd');
      if (compression !== 'zstd') continue;
      expect(readZstdFrameHeader(data)).toEqual({ contentSize: size, dictionaryId: 0 });
    }
  });

  it('compresses at levels 1..22 and refuses other levels', () => {
    const raw = text(200_000);
    for (const level of [1, 3, 9, 19]) {
      const blob = compressBlob(raw, 'zstd', level);
      expectSameBytes(decompressBlob(blob.data, blob.compression, raw.length), raw);
    }
    for (const level of [0, -1, 23, 2.5]) {
      expect(caught(() => compressBlob(raw, 'zstd', level)).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('a forged frame content size is refused before any allocation', () => {
    const raw = text(300_000);
    const { data } = compressBlob(raw, 'zstd');
    const forged = new Uint8Array(data);
    const descriptor = forged[4]!;
    expect(descriptor >> 6).toBe(2); // a 4-byte size field for this input length
    const fcsOffset = 5 + ((descriptor >> 5) & 1 ? 0 : 1);
    new DataView(forged.buffer).setUint32(fcsOffset, 0xffff_fff0, true);
    const err = caught(() => decompressBlob(forged, 'zstd', raw.length));
    expect(err.code).toBe('CORRUPT_DATA');
    expect(err.details?.field).toBe('contentSize');
  });

  it('a frame without a content size is bounded by the declared length (no bomb)', () => {
    const zstd = createRequire(import.meta.url)('zstd-napi') as {
      Compressor: new () => { compress(b: Uint8Array): Buffer; setParameters(p: object): void };
    };
    if (zstdImplementation() !== 'zstd-napi') return; // the hand-made frame below needs zstd-napi
    const c = new zstd.Compressor();
    c.setParameters({ contentSizeFlag: false });
    const zeros = new Uint8Array(16 << 20);
    const bomb = c.compress(zeros);
    expect(readZstdFrameHeader(bomb).contentSize).toBeUndefined();
    expect(bomb.length).toBeLessThan(64 << 10);
    const err = caught(() => decompressBlob(bomb, 'zstd', 1000));
    expect(err.code).toBe('CORRUPT_DATA');
    expectSameBytes(decompressBlob(bomb, 'zstd', zeros.length, zeros.length), zeros);
    expect(caught(() => decompressBlob(bomb, 'zstd', zeros.length + 1, zeros.length + 1)).code).toBe('CORRUPT_DATA');
  });

  it('refuses a bad magic, reserved bits and dictionary frames, naming the field', () => {
    const { data } = compressBlob(text(10_000), 'zstd');
    const badMagic = new Uint8Array(data);
    badMagic[0] = 0;
    expect(caught(() => decompressBlob(badMagic, 'zstd', 10_000)).details?.field).toBe('magic');
    const reserved = new Uint8Array(data);
    reserved[4]! |= 0x08;
    expect(caught(() => decompressBlob(reserved, 'zstd', 10_000)).details?.field).toBe('descriptor');
    // Magic + descriptor (single segment, 1-byte dictionary id, 1-byte size) + dict 9 + size 0.
    const dict = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x21, 9, 0]);
    expect(caught(() => decompressBlob(dict, 'zstd', 0)).details?.field).toBe('dictionaryId');
  });
});

describe.skipIf(zstdAvailable())('zstd missing from this runtime', () => {
  it('says UNSUPPORTED_ALGORITHM', () => {
    expect(caught(() => compressBlob(text(1000), 'zstd')).code).toBe('UNSUPPORTED_ALGORITHM');
    expect(caught(() => decompressBlob(new Uint8Array(10), 'zstd', 10)).code).toBe('UNSUPPORTED_ALGORITHM');
  });
});
