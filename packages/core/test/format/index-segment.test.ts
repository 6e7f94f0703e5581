/**
 * Index segment payloads (docs/format.md §Index segments): exact layout, round trip, and each
 * field damaged in turn.
 */
import { describe, expect, it } from 'vitest';
import { decodeIndexSegment, encodeIndexSegment, type IndexSegment } from '../../src/format/index-segment.js';
import { edited, expectCode } from './helpers.js';

const id = (b: number) => new Uint8Array(32).fill(b);
const segment: IndexSegment = {
  supersedes: [id(0xaa), id(0xbb)],
  packs: [
    {
      packId: id(1),
      entries: [
        { type: 'data', compression: 'lz4', offset: 0, length: 1040, rawLength: 4096, id: id(0x10) },
        { type: 'tree', compression: 'none', offset: 1040, length: 240, rawLength: 200, id: id(0x11) },
      ],
    },
    { packId: id(2), entries: [] },
    {
      packId: id(3),
      entries: [{ type: 'data', compression: 'zstd', offset: 2 ** 40, length: 41, rawLength: 1, id: id(0x12) }],
    },
  ],
};

describe('index segments', () => {
  it('encodes "CRNI" ‖ 1 ‖ 0 0 0 ‖ superseded ids ‖ packs with 50-byte entries', () => {
    const bytes = encodeIndexSegment(segment);
    expect(bytes.length).toBe(12 + 2 * 32 + 4 + 3 * 36 + 3 * 50);
    expect(Buffer.from(bytes.subarray(0, 8)).toString('latin1')).toBe('CRNI\x01\x00\x00\x00');
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    expect(v.getUint32(8, true)).toBe(2);
    expect(bytes.subarray(12, 44)).toEqual(id(0xaa));
    expect(v.getUint32(76, true)).toBe(3); // pack count
    expect(bytes.subarray(80, 112)).toEqual(id(1));
    expect(v.getUint32(112, true)).toBe(2); // entry count
    // First entry: type, compression, offset u64, length u32, raw length u32, id.
    expect([v.getUint8(116), v.getUint8(117)]).toEqual([0, 1]);
    expect(v.getBigUint64(118, true)).toBe(0n);
    expect([v.getUint32(126, true), v.getUint32(130, true)]).toEqual([1040, 4096]);
    expect(bytes.subarray(134, 166)).toEqual(id(0x10));
    expect(decodeIndexSegment(bytes)).toEqual(segment);
    expect(encodeIndexSegment({ supersedes: [], packs: [] }).length).toBe(16);
  });

  it('refuses each damaged field with the right code', () => {
    const bytes = encodeIndexSegment(segment);
    const decode = (b: Uint8Array) => () => decodeIndexSegment(b);
    expectCode(decode(edited(bytes, (v) => v.setUint8(3, 0))), 'CORRUPT_DATA');
    expectCode(decode(edited(bytes, (v) => v.setUint8(4, 2))), 'UNSUPPORTED_VERSION');
    for (const n of [3, 0xffffffff, 0x08000000])
      expectCode(decode(edited(bytes, (v) => v.setUint32(8, n, true))), 'CORRUPT_DATA');
    for (const n of [4, 0xffffffff]) expectCode(decode(edited(bytes, (v) => v.setUint32(76, n, true))), 'CORRUPT_DATA');
    for (const n of [3, 0xffffffff])
      expectCode(decode(edited(bytes, (v) => v.setUint32(112, n, true))), 'CORRUPT_DATA');
    expectCode(decode(edited(bytes, (v) => v.setUint8(116, 2))), 'CORRUPT_DATA');
    expectCode(decode(edited(bytes, (v) => v.setUint8(117, 9))), 'UNSUPPORTED_ALGORITHM');
    expectCode(decode(edited(bytes, (v) => v.setBigUint64(118, 2n ** 53n, true))), 'CORRUPT_DATA');
    expectCode(decode(bytes.subarray(0, bytes.length - 1)), 'CORRUPT_DATA');
    expectCode(decode(new Uint8Array(Buffer.concat([bytes, new Uint8Array(1)]))), 'CORRUPT_DATA');
    expectCode(decode(new Uint8Array(0)), 'CORRUPT_DATA');
  });
});
