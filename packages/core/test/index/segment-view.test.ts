/**
 * IndexSegmentView and IndexSegmentBuilder against the reference codec: same bytes written, same
 * inputs accepted, same errors for damaged inputs.
 */
import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../src/errors.js';
import {
  decodeIndexSegment,
  encodeIndexSegment,
  type IndexSegment,
  IndexSegmentBuilder,
  IndexSegmentView,
} from '../../src/format/index-segment.js';
import { PendingGroup } from '../../src/index/pending-index.js';
import { makeEntries, makeId, packIdHex } from './helpers.js';

function sample(): IndexSegment {
  return {
    supersedes: [makeId(9, 1), makeId(9, 2)],
    packs: [
      { packId: Buffer.from(packIdHex(1), 'hex'), entries: makeEntries(0, 5) },
      { packId: Buffer.from(packIdHex(2), 'hex'), entries: [] },
      {
        packId: Buffer.from(packIdHex(3), 'hex'),
        entries: [...makeEntries(5, 3), { ...makeEntries(8, 1)[0]!, offset: 2 ** 53 - 1 }],
      },
    ],
  };
}

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!isCairnError(err)) throw err;
    return `${err.code}: ${err.message}`;
  }
}

describe('IndexSegmentView', () => {
  it('reads a segment in place and decodes the same packs', () => {
    const seg = sample();
    const bytes = encodeIndexSegment(seg);
    const view = IndexSegmentView.parse(bytes);
    expect(view.packCount).toBe(3);
    expect(view.entryCount).toBe(9);
    expect(view.supersedes).toEqual(seg.supersedes.map((s) => new Uint8Array(s)));
    expect(view.packs).toEqual(decodeIndexSegment(bytes).packs);
    expect(view.packEntryCount(1)).toBe(0);
    expect(Buffer.from(view.packId(2)).toString('hex')).toBe(packIdHex(3));
    expect(view.section(0).length).toBe(36 + 5 * 50);
  });

  it('the builder writes the bytes encodeIndexSegment writes', () => {
    const seg = sample();
    const entries = seg.packs.reduce((n, p) => n + p.entries.length, 0);
    const b = new IndexSegmentBuilder(seg.supersedes, seg.packs.length, entries);
    const view = IndexSegmentView.parse(encodeIndexSegment(seg));
    for (let i = 0; i < view.packCount; i++) b.addSection(view.section(i));
    expect(b.finish()).toEqual(encodeIndexSegment(seg));
    // From pending groups (entries encoded by PendingGroup, not writePackEntry).
    const g = new PendingGroup();
    for (const p of seg.packs) g.addPack(Buffer.from(p.packId).toString('hex'), p.entries);
    const b2 = new IndexSegmentBuilder(seg.supersedes, seg.packs.length, entries);
    g.writeTo(b2);
    expect(b2.finish()).toEqual(encodeIndexSegment(seg));
    expect(new IndexSegmentBuilder([], 0, 0).finish()).toEqual(encodeIndexSegment({ supersedes: [], packs: [] }));
    expect(() => new IndexSegmentBuilder([], 1, 0).finish()).toThrow();
  });

  it('accepts and refuses exactly what decodeIndexSegment does, with the same error', () => {
    const base = encodeIndexSegment(sample());
    let seed = 12345;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const counts: Record<string, number> = {};
    for (let c = 0; c < 4000; c++) {
      let b = new Uint8Array(base);
      const kind = rnd(4);
      if (kind === 0) b[rnd(b.length)] = rnd(256);
      else if (kind === 1) {
        // Interesting fields: counts, type, compression, offsets, lengths.
        const at = [8, 76, 112, 116, 117, 123, 124, 128, 132, 80 + 36 + 50 * 5 + 36 + 36 + 6][rnd(10)]!;
        b[at] = [0, 1, 2, 3, 0x20, 0x27, 0x28, 0xff][rnd(8)]!;
      } else if (kind === 2) b = b.subarray(0, rnd(b.length + 1));
      else b = new Uint8Array(Buffer.concat([b, new Uint8Array(rnd(60))]));
      const expected = outcome(() => decodeIndexSegment(b));
      expect(outcome(() => IndexSegmentView.parse(b))).toBe(expected);
      const key = expected.split(':')[0]!;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    expect(counts.ok).toBeGreaterThan(100);
    expect(counts.CORRUPT_DATA).toBeGreaterThan(100);
    expect(counts.UNSUPPORTED_ALGORITHM).toBeGreaterThan(0);
  });
});

describe('PendingGroup', () => {
  it('finds every entry (last one wins), grows, and knows nothing else', () => {
    const g = new PendingGroup();
    const packs = 300;
    for (let p = 0; p < packs; p++) g.addPack(packIdHex(p), makeEntries(p * 10, 10));
    expect(g.entryCount).toBe(3000);
    for (let n = 0; n < 3000; n += 7) {
      const loc = g.get(makeId(1, n))!;
      const e = makeEntries(n, 1)[0]!;
      expect(loc).toEqual({ ...e, offset: loc.offset, packId: packIdHex(Math.floor(n / 10)) });
    }
    expect(g.get(makeId(2, 5))).toBeUndefined();
    expect(g.get(new Uint8Array(5))).toBeUndefined();
    // The same blob again in another pack: the newer location.
    g.addPack(packIdHex(1000), makeEntries(42, 1));
    expect(g.get(makeId(1, 42))!.packId).toBe(packIdHex(1000));
    expect(g.byteSize / g.entryCount).toBeLessThan(200);
  });

  it('takes one pack with more entries than its table has slots (a pack of small tree blobs)', () => {
    const g = new PendingGroup();
    g.addPack(packIdHex(1), makeEntries(0, 5000));
    g.addPack(packIdHex(2), makeEntries(5000, 3));
    expect(g.entryCount).toBe(5003);
    for (let n = 0; n < 5003; n += 97) expect(g.get(makeId(1, n))).toBeDefined();
    expect(g.get(makeId(1, 5002))!.packId).toBe(packIdHex(2));
  });

  it('refuses a bad pack id', () => {
    expect(() => new PendingGroup().addPack('zz', [])).toThrow();
  });
});
