/** Hex helpers: toHex encodes as Buffer does; fromHexMany decodes exactly what Buffer does, into one buffer, and refuses bad input. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, fromHexMany, toHex } from '../../src/format/bytes.js';

describe('hex', () => {
  it('toHex writes what Buffer writes, for every length and for views into larger buffers', () => {
    const big = new Uint8Array(randomBytes(300));
    for (let n = 0; n <= 130; n++) {
      for (const off of [0, 7]) {
        const view = big.subarray(off, off + n);
        expect(toHex(view)).toBe(Buffer.from(view).toString('hex'));
      }
    }
    // A result stays valid once later calls reuse the scratch space.
    const a = toHex(new Uint8Array(32).fill(0xab));
    toHex(new Uint8Array(32).fill(0x01));
    expect(a).toBe('ab'.repeat(32));
  });

  it('fromHexMany decodes lower and upper case into views of one buffer', () => {
    const ids = Array.from({ length: 50 }, () => new Uint8Array(randomBytes(32)));
    const hexes = ids.map((b, i) => (i % 2 ? toHex(b).toUpperCase() : toHex(b)));
    const out = fromHexMany(hexes, 32);
    expect(out).toEqual(ids);
    expect(new Set(out.map((v) => v.buffer)).size).toBe(1);
    expect(out.map((v) => toHex(v))).toEqual(hexes.map((h) => toHex(fromHex(h))));
    expect(fromHexMany([], 32)).toEqual([]);
  });

  it('refuses wrong lengths and non-hex characters', () => {
    const good = 'ab'.repeat(32);
    for (const bad of [
      'ab'.repeat(31),
      `${good}00`,
      `${'ab'.repeat(31)}zz`,
      `${'ab'.repeat(31)}é0`,
      `${'ab'.repeat(31)} 1`,
    ]) {
      expect(() => fromHexMany([good, bad], 32, 'blob id')).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    }
  });
});
