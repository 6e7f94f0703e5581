/**
 * IndexCache: segments loaded from their bytes in bounded sub-batches, the loaded marker only with
 * the last one, what is recorded to forget vanished segments, and crash safety of sub-batches.
 */
import { describe, expect, it } from 'vitest';
import { encodeIndexSegment, type IndexSegment, IndexSegmentView } from '../../src/format/index-segment.js';
import { locationOf } from '../../src/index/blob-location.js';
import { IndexCache } from '../../src/index/index-cache.js';
import { failBatchesFrom, hex, makeEntries, makeId, packIdHex, tempDir } from './helpers.js';

/** A segment of `packs` packs (numbers from `first`) of `per` entries (blob numbers pack × 1000 + i). */
function segment(first: number, packs: number, per: number, supersedes: Uint8Array[] = []): IndexSegment {
  return {
    supersedes,
    packs: Array.from({ length: packs }, (_, p) => ({
      packId: Buffer.from(packIdHex(first + p), 'hex'),
      entries: makeEntries((first + p) * 1000, per),
    })),
  };
}

const segId = (n: number) => hex(makeId(7, n));

describe('IndexCache', () => {
  it('round-trips a segment given as objects or as a view, with and without byPack', async () => {
    const cache = await IndexCache.open(await tempDir());
    const seg = segment(0, 4, 25);
    await cache.addSegment(segId(1), seg, { byPack: true });
    await cache.addSegment(segId(2), IndexSegmentView.parse(encodeIndexSegment(segment(100, 2, 10))));
    expect(await cache.loadedSegments()).toEqual(new Set([segId(1), segId(2)]));
    expect(await cache.countBlobs()).toBe(120);
    const ids = [
      ...seg.packs.flatMap((p) => p.entries.map((e) => e.id)),
      ...Array.from({ length: 20 }, (_, n) => makeId(1, 100_000 + (n % 2) * 1000 + Math.floor(n / 2))),
      makeId(2, 1),
    ];
    const found = await cache.getMany(ids);
    expect(found[120]).toBeUndefined();
    for (let p = 0; p < 4; p++) {
      for (const e of seg.packs[p]!.entries) {
        const n = ids.findIndex((id) => hex(id) === hex(e.id));
        expect(found[n]).toEqual(locationOf(packIdHex(p), e));
      }
    }
    const byPack = [];
    for await (const loc of cache.packEntries(packIdHex(2))) byPack.push(loc);
    expect(byPack).toHaveLength(25);
    expect(new Set(byPack.map((l) => hex(l.id)))).toEqual(new Set(seg.packs[2]!.entries.map((e) => hex(e.id))));
    const all = [];
    for await (const loc of cache.locations()) all.push(loc);
    expect(all).toHaveLength(120);
    await cache.close();
  });

  it('loads segments larger than a sub-batch (chained batches) and skips sections it holds', async () => {
    const cache = await IndexCache.open(await tempDir());
    const seg = segment(0, 40, 500); // 20 000 entries: 3 sub-batches of 8192
    await cache.addSegment(segId(1), seg);
    expect(await cache.countBlobs()).toBe(20_000);
    const sample = seg.packs.flatMap((p) => p.entries.filter((_, i) => i % 97 === 0));
    const found = await cache.getMany(sample.map((e) => e.id));
    expect(found.every((l) => l !== undefined)).toBe(true);
    // A segment repeating 39 of those packs and one new: only the new pack's entries are written.
    const merged = { supersedes: [], packs: [...seg.packs.slice(1), ...segment(100, 1, 500).packs] };
    await cache.addSegment(segId(2), merged);
    expect(cache.stats.entriesWritten).toBe(20_500);
    expect(await cache.countBlobs()).toBe(20_500);
    await cache.close();
  });

  it('loads a large segment in sub-batches with the marker in the last one', async () => {
    const dir = await tempDir();
    const cache = await IndexCache.open(dir, { subBatchEntries: 16 });
    const seg = segment(0, 10, 20); // 200 entries: 13 sub-batches
    await cache.addSegment(segId(1), seg);
    expect(await cache.countBlobs()).toBe(200);
    expect(await cache.partialSegments()).toEqual(new Set());
    expect([...(await cache.loadedSegments())]).toEqual([segId(1)]);
    const [info] = await cache.segmentInfo([segId(1)]);
    expect(info!.digests.length).toBe(10 * 16);
  });

  it('a crash between sub-batches leaves entries but no marker, and a partial record', async () => {
    const dir = await tempDir();
    const cache = await IndexCache.open(dir, { subBatchEntries: 16 });
    failBatchesFrom(cache, 3);
    await expect(cache.addSegment(segId(1), segment(0, 10, 20))).rejects.toThrow('simulated crash');
    await cache.close();
    const reopened = await IndexCache.open(dir, { subBatchEntries: 16 });
    expect(await reopened.loadedSegments()).toEqual(new Set());
    expect(await reopened.partialSegments()).toEqual(new Set([segId(1)]));
    expect(await reopened.countBlobs()).toBe(32); // two sub-batches made it
    // Loading it again completes it and removes the partial record.
    await reopened.addSegment(segId(1), segment(0, 10, 20));
    expect(await reopened.partialSegments()).toEqual(new Set());
    expect(await reopened.loadedSegments()).toEqual(new Set([segId(1)]));
    expect(await reopened.countBlobs()).toBe(200);
    await reopened.close();
  });

  it('a segment is covered when present segments list its packs identically', async () => {
    const cache = await IndexCache.open(await tempDir());
    const a = segment(0, 3, 4);
    const b = segment(3, 2, 4);
    await cache.addSegment(segId(1), a);
    await cache.addSegment(segId(2), b);
    // A merge of both, superseding them.
    const merged: IndexSegment = { supersedes: [makeId(7, 1), makeId(7, 2)], packs: [...a.packs, ...b.packs] };
    await cache.addSegment(segId(3), merged, { entries: false });
    expect(cache.stats.segmentsMarked).toBe(1);
    const present = (id: string) => id === segId(3);
    expect(await cache.coveredBy([segId(1), segId(2)], present)).toBe(true);
    // Not covered when the merge is not present, or lists a pack differently.
    expect(await cache.coveredBy([segId(1)], () => false)).toBe(false);
    const changed = segment(10, 1, 4);
    await cache.addSegment(segId(4), { supersedes: [makeId(7, 3)], packs: [merged.packs[0]!] });
    await cache.addSegment(segId(5), changed);
    expect(await cache.coveredBy([segId(5)], (id) => id === segId(4))).toBe(false);
    // Unknown segment (no record): not covered.
    expect(await cache.coveredBy([segId(99)], () => true)).toBe(false);
    await cache.forgetSegments([segId(1), segId(2)]);
    expect(await cache.loadedSegments()).toEqual(new Set([segId(3), segId(4), segId(5)]));
    expect(await cache.segmentInfo([segId(1)])).toEqual([undefined]);
    expect(await cache.countBlobs()).toBe(24); // entries stay
    await cache.clear();
    expect(cache.stats.clears).toBe(1);
    expect(await cache.countBlobs()).toBe(0);
    expect(await cache.loadedSegments()).toEqual(new Set());
    await cache.close();
  });

  it('re-points section keys at a present superseder loaded before the segment it replaces', async () => {
    const cache = await IndexCache.open(await tempDir());
    const a = segment(0, 3, 4);
    // The merge is loaded first, then the part: the section keys name the part.
    await cache.addSegment(segId(3), { supersedes: [makeId(7, 1)], packs: a.packs });
    await cache.addSegment(segId(1), a);
    expect(await cache.coveredBy([segId(1)], (id) => id === segId(3))).toBe(true);
  });
});

describe('IndexCache on damaged files', () => {
  it('turns LevelDB corruption into one typed error, from any call, and deletes itself on close', async () => {
    const { readdirSync, readFileSync, writeFileSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = await tempDir();
    let cache = await IndexCache.open(dir);
    await cache.addSegment(segId(1), segment(0, 40, 100));
    await cache.close();
    cache = await IndexCache.open(dir); // the log becomes a table file
    await cache.close();
    const tables = readdirSync(dir).filter((n) => n.endsWith('.ldb'));
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) {
      const bytes = readFileSync(join(dir, t));
      for (let i = 0; i < bytes.length; i += 97) bytes[i]! ^= 0x5a;
      writeFileSync(join(dir, t), bytes);
    }
    const errors: unknown[] = [];
    try {
      cache = await IndexCache.open(dir);
      // Whichever call reads a damaged block fails, walks as well as point reads.
      await cache.getMany([makeId(1, 5)]).catch((e: unknown) => errors.push(e));
      await cache.countBlobs().catch((e: unknown) => errors.push(e));
      expect(cache.damaged).toBeDefined();
      await cache.close();
    } catch (err) {
      errors.push(err); // the open itself read a damaged block
    }
    expect(errors.length).toBeGreaterThan(0);
    for (const err of errors) {
      expect(err).toMatchObject({ code: 'CORRUPT_DATA', details: { cache: dir } });
      expect((err as Error).message).toMatch(/rebuilt from the repository/);
    }
    expect(existsSync(dir)).toBe(false);
  });
});
