/**
 * The WebAssembly LZ4 codec: round trips over the shapes that exercise each path (short inputs,
 * the 12/13-byte boundary, runs and short periods that make overlapping matches, long matches,
 * matches beyond the 64 KiB window, incompressible data), and interoperability in both directions
 * with lz4-napi (lz4_flex), which wrote the LZ4 blobs of repositories made before this codec.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { lz4Bound, lz4Compress, lz4CompressTransient, lz4Decompress } from '../../src/compress/lz4.js';
import type { CairnError } from '../../src/errors.js';

const flex = createRequire(import.meta.url)('lz4-napi') as {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
};

function text(n: number, seed: number): Uint8Array {
  const words = ['patient', 'admit', 'HL7', 'ORU^R01', 'status=final', '2024-11-02', 'ward 7', 'lab', '\n'];
  const out = Buffer.alloc(n);
  let x = seed;
  let o = 0;
  while (o < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    o += out.write(`${words[x % words.length]} ${x % 1000} `, o);
  }
  return new Uint8Array(out.buffer, out.byteOffset, n);
}

function periodic(n: number, period: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i % period) * 37 + 1;
  return out;
}

/** Two copies of a random block `gap` bytes apart: a match at distance `gap` (or none past 65535). */
function farRepeat(block: number, gap: number): Uint8Array {
  const r = randomBytes(block);
  const out = new Uint8Array(gap + block);
  out.set(r, 0);
  out.set(randomBytes(gap - block), block);
  out.set(r, gap);
  return out;
}

const cases: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ...[1, 5, 11, 12, 13, 14, 16, 17, 31, 64].map((n): [string, Uint8Array] => [`${n} zero bytes`, new Uint8Array(n)]),
  ...[12, 13, 20].map((n): [string, Uint8Array] => [`${n} random bytes`, new Uint8Array(randomBytes(n))]),
  ['1 MiB of zeros', new Uint8Array(1 << 20)],
  ...[1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 200].map((p): [string, Uint8Array] => [`period ${p}`, periodic(70_000, p)]),
  ['1 MiB of text', text(1 << 20, 1)],
  ['300 bytes of text', text(300, 2)],
  ['1 MiB random', new Uint8Array(randomBytes(1 << 20))],
  ['match at distance 65535', farRepeat(300, 65_535)],
  ['repeat at distance 65536 (out of reach)', farRepeat(300, 65_536)],
  [
    'long match (100 KiB repeated)',
    (() => {
      const r = randomBytes(100 * 1024);
      return new Uint8Array(Buffer.concat([r, r, r]));
    })(),
  ],
  ['text then random then text', new Uint8Array(Buffer.concat([text(5000, 3), randomBytes(5000), text(5000, 3)]))],
];

describe('LZ4 codec (WebAssembly)', () => {
  for (const [name, raw] of cases) {
    it(`${name}: round trip, and both directions with lz4_flex`, () => {
      const packed = lz4Compress(raw);
      expect(new DataView(packed.buffer, packed.byteOffset).getUint32(0, true)).toBe(raw.length);
      expect(packed.length).toBeLessThanOrEqual(4 + lz4Bound(raw.length));
      expect(Buffer.from(lz4Decompress(packed, raw.length)).equals(Buffer.from(raw))).toBe(true);
      // lz4_flex reads what this codec writes ...
      expect(flex.uncompressSync(packed).equals(Buffer.from(raw))).toBe(true);
      // ... and this codec reads what lz4_flex wrote.
      const old = flex.compressSync(Buffer.from(raw));
      expect(Buffer.from(lz4Decompress(old, raw.length)).equals(Buffer.from(raw))).toBe(true);
    });
  }

  it('compresses as well as lz4_flex on text (same algorithm: within 1 %)', () => {
    const raw = text(1 << 20, 9);
    const ours = lz4Compress(raw).length;
    const theirs = flex.compressSync(Buffer.from(raw)).length;
    expect(ours).toBeLessThan(raw.length / 2);
    expect(Math.abs(ours - theirs) / theirs).toBeLessThan(0.01);
  });

  it('owned results survive later calls; transient ones are the codec memory', () => {
    const a = text(4096, 4);
    const b = text(4096, 5);
    const owned = lz4Compress(a);
    const transient = lz4CompressTransient(a);
    const copy = transient.slice();
    lz4Compress(b);
    expect(Buffer.from(owned).equals(Buffer.from(copy))).toBe(true);
    expect(Buffer.from(lz4Decompress(owned, a.length)).equals(Buffer.from(a))).toBe(true);
  });

  it('inputs too large to keep in the shared memory round-trip through a one-off codec', () => {
    const raw = new Uint8Array(Buffer.concat([text(10 << 20, 6), randomBytes(4 << 20)]));
    const packed = lz4Compress(raw);
    expect(Buffer.from(lz4Decompress(packed, raw.length)).equals(Buffer.from(raw))).toBe(true);
    expect(flex.uncompressSync(packed).equals(Buffer.from(raw))).toBe(true);
  });

  describe('malformed blocks are CORRUPT_DATA', () => {
    const raw = text(20_000, 8);
    const good = lz4Compress(raw);
    const corrupt = (data: Uint8Array, n = raw.length) => {
      try {
        lz4Decompress(data, n);
      } catch (err) {
        return (err as CairnError).code;
      }
      return 'decoded';
    };

    it('every truncation', () => {
      for (let cut = 4; cut < good.length; cut += 7) expect(corrupt(good.subarray(0, cut))).toBe('CORRUPT_DATA');
    });

    it('a declared size that differs from the prefix, and one the block does not fill', () => {
      expect(corrupt(good, raw.length + 1)).toBe('CORRUPT_DATA');
      const prefixed = good.slice();
      new DataView(prefixed.buffer).setUint32(0, raw.length + 1, true);
      expect(corrupt(prefixed, raw.length + 1)).toBe('CORRUPT_DATA');
    });

    it('an offset of zero and an offset before the start', () => {
      // token: 4 literals then a 4-byte match; offset follows the literals.
      const block = (offset: number) =>
        new Uint8Array([8, 0, 0, 0, 0x40, 0x61, 0x62, 0x63, 0x64, offset & 255, offset >> 8, 0x00]);
      expect(corrupt(block(4), 8)).toBe('decoded');
      expect(corrupt(block(0), 8)).toBe('CORRUPT_DATA');
      expect(corrupt(block(5), 8)).toBe('CORRUPT_DATA');
    });

    it('lengths running past either buffer', () => {
      // 15 + 255 + 255 ... literals claimed, few present.
      expect(corrupt(new Uint8Array([100, 0, 0, 0, 0xf0, 255, 255, 10, 1, 2, 3]), 100)).toBe('CORRUPT_DATA');
      // A match longer than the output may hold.
      expect(corrupt(new Uint8Array([8, 0, 0, 0, 0x4f, 0x61, 0x62, 0x63, 0x64, 1, 0, 200, 0x00]), 8)).toBe(
        'CORRUPT_DATA',
      );
    });

    it('random byte flips decode to the right length or fail cleanly', () => {
      let x = 12345;
      for (let t = 0; t < 2000; t++) {
        const m = good.slice();
        for (let k = 0; k < 3; k++) {
          x = (x * 1103515245 + 12345) >>> 0;
          const at = 4 + (x % (m.length - 4));
          m[at] = (x >>> 16) & 255;
        }
        expect(['decoded', 'CORRUPT_DATA']).toContain(corrupt(m));
      }
    });
  });
});
