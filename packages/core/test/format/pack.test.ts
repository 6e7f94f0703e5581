/**
 * Packs: writer/reader round trips (types, compressions, range reads of single blobs, header reads
 * through `readPackHeader` within and beyond the 64 KiB tail guess), and every trailer, header and
 * entry field damaged in turn, each refused with the code docs/format.md §Packs gives it.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../src/compress/index.js';
import { type BlobType, encodeBlob, MAX_BLOB_RAW_LENGTH, openBlob } from '../../src/format/blob.js';
import { PACK_TRAILER_LENGTH, type PackEntry } from '../../src/format/pack-header.js';
import {
  assertPackId,
  packId,
  packMatchesId,
  parsePackHeader,
  type RangeReader,
  readPackBlob,
  readPackHeader,
} from '../../src/format/pack-reader.js';
import { PackWriter } from '../../src/format/pack-writer.js';
import { encodeTree } from '../../src/format/tree.js';
import { blake3 } from '../../src/hashing/index.js';
import { COMPRESSIONS, sampleFile, text } from '../fuzz/fixtures.js';
import { caught, edited, expectCode, joinPack, rejected, splitPack, TEST_KEYS } from './helpers.js';

interface Input {
  type: BlobType;
  raw: Uint8Array;
  compression: Compression;
}

function build(inputs: Input[]): { pack: Uint8Array; entries: PackEntry[]; id: Uint8Array } {
  const w = new PackWriter(TEST_KEYS.dataKey);
  for (const b of inputs) w.add(encodeBlob(TEST_KEYS, b.type, b.raw, b.compression));
  const done = w.finish();
  const pack = new Uint8Array(Buffer.concat(done.parts));
  expect(pack.length).toBe(done.size);
  return { pack, entries: done.entries, id: done.id };
}

/** A range reader over `pack` that records every call. */
function recorder(pack: Uint8Array): { read: RangeReader; calls: [number, number][] } {
  const calls: [number, number][] = [];
  return {
    calls,
    read: async (offset, length) => {
      calls.push([offset, length]);
      return pack.slice(offset, offset + length);
    },
  };
}

const INPUTS: Input[] = [
  ...COMPRESSIONS.map((compression, i) => ({ type: 'data' as const, raw: text(5000 + i, i), compression })),
  { type: 'tree', raw: encodeTree({ nodes: [sampleFile('a'), sampleFile('b')] }), compression: 'lz4' },
  { type: 'data', raw: new Uint8Array(0), compression: 'none' },
  { type: 'data', raw: new Uint8Array(randomBytes(3000)), compression: 'lz4' }, // does not shrink: stored raw
];

describe('pack writer and reader', () => {
  it('round-trips blobs of every type and compression, with range reads of single blobs', async () => {
    const { pack, entries, id } = build(INPUTS);
    expect(id).toEqual(blake3(pack));
    expect(packId(pack)).toEqual(id);
    expect(packMatchesId(pack, Buffer.from(id).toString('hex'))).toBe(true);
    assertPackId(pack, id);

    const parsed = parsePackHeader(TEST_KEYS.dataKey, pack);
    expect(parsed).toEqual(entries);
    expect(parsed.map((e) => e.compression)).toEqual([...COMPRESSIONS, 'lz4', 'none', 'none']);
    expect(parsed.map((e) => e.type)).toEqual([...COMPRESSIONS.map(() => 'data'), 'tree', 'data', 'data']);
    let offset = 0;
    for (const [i, e] of parsed.entries()) {
      expect(e.offset).toBe(offset);
      offset += e.length;
      const { read, calls } = recorder(pack);
      expect(await readPackBlob(TEST_KEYS, read, e)).toEqual(INPUTS[i]!.raw);
      expect(calls).toEqual([[e.offset, e.length]]);
    }
    expect(offset).toBe(
      pack.length - PACK_TRAILER_LENGTH - new DataView(pack.buffer).getUint32(pack.length - 12, true),
    );
  });

  it('reads the header of a small pack with one read of the whole pack', async () => {
    const { pack, entries } = build(INPUTS.slice(0, 2));
    const { read, calls } = recorder(pack);
    expect(await readPackHeader(TEST_KEYS.dataKey, read, pack.length)).toEqual(entries);
    expect(calls).toEqual([[0, pack.length]]);
  });

  it('reads a header within the 64 KiB tail guess of a large pack with one read', async () => {
    const { pack, entries } = build([{ type: 'data', raw: new Uint8Array(randomBytes(200_000)), compression: 'none' }]);
    const { read, calls } = recorder(pack);
    expect(await readPackHeader(TEST_KEYS.dataKey, read, pack.length)).toEqual(entries);
    expect(calls).toEqual([[pack.length - 65536, 65536]]);
  });

  it('reads a header larger than the tail guess with a second read', async () => {
    // 1400 entries: a 70 052-byte sealed header, beyond the 64 KiB guess.
    const inputs: Input[] = Array.from({ length: 1400 }, (_, i) => ({
      type: 'data',
      raw: new TextEncoder().encode(`blob ${i}`),
      compression: 'none',
    }));
    const { pack, entries } = build(inputs);
    const headerLength = 24 + 12 + 1400 * 50 + 16;
    expect(new DataView(pack.buffer).getUint32(pack.length - 12, true)).toBe(headerLength);
    const { read, calls } = recorder(pack);
    expect(await readPackHeader(TEST_KEYS.dataKey, read, pack.length)).toEqual(entries);
    expect(calls).toEqual([
      [pack.length - 65536, 65536],
      [pack.length - PACK_TRAILER_LENGTH - headerLength, headerLength],
    ]);
    expect(parsePackHeader(TEST_KEYS.dataKey, pack)).toEqual(entries);
  });

  it('accepts an empty pack (header and trailer only)', () => {
    const { pack } = build([]);
    expect(pack.length).toBe(24 + 12 + 16 + PACK_TRAILER_LENGTH);
    expect(parsePackHeader(TEST_KEYS.dataKey, pack)).toEqual([]);
  });

  it('refuses to add to or finish a finished pack', () => {
    const w = new PackWriter(TEST_KEYS.dataKey);
    w.finish();
    expect(caught(() => w.finish()).code).toBe('INVALID_ARGUMENT');
    expect(caught(() => w.add(encodeBlob(TEST_KEYS, 'data', text(10), 'none'))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('pack damage', () => {
  const { pack, entries } = build(INPUTS);
  const parse = (p: Uint8Array) => () => parsePackHeader(TEST_KEYS.dataKey, p);
  const trailerAt = pack.length - PACK_TRAILER_LENGTH;

  it('trailer: bad magic, header length out of range or past the pack start', () => {
    for (let i = 0; i < 8; i++) expectCode(parse(edited(pack, (_, b) => (b[trailerAt + 4 + i]! ^= 1))), 'CORRUPT_DATA');
    for (const len of [0, 51, 64 * 1024 * 1024 + 1, 0xffffffff, pack.length]) {
      expectCode(parse(edited(pack, (v) => v.setUint32(trailerAt, len, true))), 'CORRUPT_DATA');
    }
    expectCode(parse(pack.subarray(0, PACK_TRAILER_LENGTH - 1)), 'CORRUPT_DATA');
    expectCode(parse(pack.subarray(0, pack.length - 1)), 'CORRUPT_DATA');
  });

  it('trailer: a header length off by one misplaces the seal (AUTH_FAILED)', () => {
    const len = new DataView(pack.buffer).getUint32(trailerAt, true);
    for (const delta of [-1, 1]) {
      expectCode(parse(edited(pack, (v) => v.setUint32(trailerAt, len + delta, true))), 'AUTH_FAILED');
    }
  });

  it('sealed header: any altered byte (nonce, ciphertext, tag) or the wrong key is AUTH_FAILED', () => {
    const len = new DataView(pack.buffer).getUint32(trailerAt, true);
    for (const at of [0, 23, 24, 30, len - 17, len - 1]) {
      expectCode(parse(edited(pack, (_, b) => (b[trailerAt - len + at]! ^= 0x80))), 'AUTH_FAILED');
    }
    expectCode(() => parsePackHeader(new Uint8Array(32), pack), 'AUTH_FAILED');
  });

  it('header plaintext: magic, version, count', () => {
    const parts = splitPack(pack);
    const withPlain = (edit: (v: DataView) => void) => joinPack({ ...parts, plain: edited(parts.plain, edit) });
    expect(parsePackHeader(TEST_KEYS.dataKey, joinPack(parts))).toEqual(entries);
    expectCode(parse(withPlain((v) => v.setUint8(0, 0x63))), 'CORRUPT_DATA');
    for (const version of [0, 2, 255])
      expectCode(parse(withPlain((v) => v.setUint8(4, version))), 'UNSUPPORTED_VERSION');
    for (const count of [0, entries.length - 1, entries.length + 1, 0xffffffff]) {
      expectCode(parse(withPlain((v) => v.setUint32(8, count, true))), 'CORRUPT_DATA');
    }
    // Reserved bytes must be zero: a reader must not ignore a meaning it does not know.
    expectCode(parse(withPlain((v) => v.setUint8(5, 7))), 'CORRUPT_DATA');
    // Truncated plaintext: the count no longer matches the entries.
    expectCode(parse(joinPack({ ...parts, plain: parts.plain.subarray(0, parts.plain.length - 1) })), 'CORRUPT_DATA');
    expectCode(parse(joinPack({ ...parts, plain: parts.plain.subarray(0, 11) })), 'CORRUPT_DATA');
  });

  it('entries: type, compression, offset, length, raw length', () => {
    const parts = splitPack(pack);
    const at = 12 + 50; // second entry
    const withEntry = (edit: (v: DataView) => void) => joinPack({ ...parts, plain: edited(parts.plain, edit) });
    expectCode(parse(withEntry((v) => v.setUint8(at, 2))), 'CORRUPT_DATA');
    expectCode(parse(withEntry((v) => v.setUint8(at + 1, 3))), 'UNSUPPORTED_ALGORITHM');
    expectCode(parse(withEntry((v) => v.setBigUint64(at + 2, BigInt(entries[1]!.offset + 1), true))), 'CORRUPT_DATA');
    expectCode(parse(withEntry((v) => v.setBigUint64(at + 2, 2n ** 63n, true))), 'CORRUPT_DATA');
    expectCode(parse(withEntry((v) => v.setUint32(at + 10, 39, true))), 'CORRUPT_DATA');
    expectCode(parse(withEntry((v) => v.setUint32(at + 10, entries[1]!.length + 1, true))), 'CORRUPT_DATA');
    expectCode(parse(withEntry((v) => v.setUint32(at + 10, 0xffffffff, true))), 'CORRUPT_DATA');
    expectCode(parse(withEntry((v) => v.setUint32(at + 14, MAX_BLOB_RAW_LENGTH + 1, true))), 'CORRUPT_DATA');
    // A gap between the blobs and the header: entries no longer tile the blob area.
    expectCode(
      parse(joinPack({ ...parts, blobs: new Uint8Array(Buffer.concat([parts.blobs, new Uint8Array(1)])) })),
      'CORRUPT_DATA',
    );
  });

  it('entries: a relabelled blob (type, compression, raw length, id) parses but fails to open (AUTH_FAILED)', () => {
    const parts = splitPack(pack);
    const lz4 = entries.findIndex((e) => e.compression === 'lz4');
    const at = 12 + 50 * lz4;
    const relabelled = [
      (v: DataView) => v.setUint8(at, 1), // data -> tree
      (v: DataView) => v.setUint8(at + 1, 0), // lz4 -> none
      (v: DataView) => v.setUint32(at + 14, entries[lz4]!.rawLength + 1, true),
      (v: DataView) => v.setUint8(at + 18, v.getUint8(at + 18) ^ 1), // id
    ];
    for (const edit of relabelled) {
      const damaged = joinPack({ ...parts, plain: edited(parts.plain, edit) });
      const e = parsePackHeader(TEST_KEYS.dataKey, damaged)[lz4]!;
      expectCode(() => openBlob(TEST_KEYS, e, damaged.subarray(e.offset, e.offset + e.length)), 'AUTH_FAILED');
    }
  });

  it('blob bytes: damage to one blob fails that blob only; the pack id no longer matches', async () => {
    const e = entries[1]!;
    const damaged = edited(pack, (_, b) => (b[e.offset + 30]! ^= 1));
    const parsed = parsePackHeader(TEST_KEYS.dataKey, damaged);
    expectCode(() => openBlob(TEST_KEYS, parsed[1]!, damaged.subarray(e.offset, e.offset + e.length)), 'AUTH_FAILED');
    const other = parsed[0]!;
    expect(openBlob(TEST_KEYS, other, damaged.subarray(other.offset, other.offset + other.length))).toEqual(
      INPUTS[0]!.raw,
    );
    expectCode(() => assertPackId(damaged, blake3(pack)), 'CORRUPT_DATA');
    // A range read that comes back short is CORRUPT_DATA, not a silent short blob.
    const short: RangeReader = async (o, l) => pack.slice(o, o + l - 1);
    expect((await rejected(readPackBlob(TEST_KEYS, short, e))).code).toBe('CORRUPT_DATA');
  });

  it('readPackHeader: sizes that cannot be packs and short reads are CORRUPT_DATA', async () => {
    const { read } = recorder(pack);
    for (const size of [0, 11, Number.NaN, 2 ** 60]) {
      expect((await rejected(readPackHeader(TEST_KEYS.dataKey, read, size))).code).toBe('CORRUPT_DATA');
    }
    const short: RangeReader = async (o, l) => pack.slice(o, o + l - 1);
    expect((await rejected(readPackHeader(TEST_KEYS.dataKey, short, pack.length))).code).toBe('CORRUPT_DATA');
    // A reported size larger than the real pack: the tail read comes back short.
    expect((await rejected(readPackHeader(TEST_KEYS.dataKey, read, pack.length + 5))).code).toBe('CORRUPT_DATA');
  });
});
