/**
 * The local dedup index cache: a LevelDB database (through `level`) mapping blob id → location,
 * filled from the repository's index segments. It is only a cache: deleting it costs a rebuild,
 * never data. Memory stays bounded by LevelDB's own caches whatever the repository's size.
 *
 * Consistency: a segment's entries and its "loaded" marker are written in one atomic batch, so a
 * crash mid-sync leaves either all of a segment or none of it.
 */
import { mkdir, rm } from 'node:fs/promises';
import { Level } from 'level';
import { CairnError } from '../errors.js';
import { toHex } from '../format/bytes.js';
import type { IndexSegment } from '../format/index-segment.js';
import { type BlobLocation, decodeBlobLocation, encodeBlobLocation, locationOf } from './blob-location.js';

const BLOB_PREFIX = 0x62; // 'b' + blob id (32 bytes)
const SEGMENT_PREFIX = 0x73; // 's' + segment id (hex ASCII)
const PACK_PREFIX = 0x70; // 'p' + pack id (32 bytes) + blob id (32 bytes), only with `byPack`
const META_VERSION_KEY = new TextEncoder().encode('m:version');
const CACHE_VERSION = '1';

function blobKey(id: Uint8Array): Uint8Array {
  const k = new Uint8Array(33);
  k[0] = BLOB_PREFIX;
  k.set(id, 1);
  return k;
}

function segmentKey(idHex: string): Uint8Array {
  const k = new Uint8Array(1 + idHex.length);
  k[0] = SEGMENT_PREFIX;
  k.set(new TextEncoder().encode(idHex), 1);
  return k;
}

type Db = Level<Uint8Array, Uint8Array>;

/** A LevelDB-backed blob index cache in one directory. */
export class IndexCache {
  private constructor(
    private readonly db: Db,
    /** Directory of the database. */
    readonly dir: string,
  ) {}

  /**
   * Opens (creating if needed) the cache at `dir`. Throws LOCKED when another process has it open;
   * the caller may then use a private cache elsewhere.
   */
  static async open(dir: string): Promise<IndexCache> {
    await mkdir(dir, { recursive: true });
    const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new CairnError('LOCKED', `index cache ${dir} is in use by another process`, { cause: err });
      }
      throw new CairnError('IO_ERROR', `cannot open index cache ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const cache = new IndexCache(db, dir);
    const version = await db.get(META_VERSION_KEY);
    if (version === undefined) await db.put(META_VERSION_KEY, new TextEncoder().encode(CACHE_VERSION));
    else if (new TextDecoder().decode(version) !== CACHE_VERSION) await cache.clear();
    return cache;
  }

  /** Looks up many blob ids in one call; entries are undefined for unknown ids. */
  async getMany(ids: readonly Uint8Array[]): Promise<(BlobLocation | undefined)[]> {
    if (ids.length === 0) return [];
    const values = await this.db.getMany(ids.map(blobKey));
    return values.map((v, i) => (v === undefined ? undefined : decodeBlobLocation(ids[i]!, v)));
  }

  /** Ids (hex) of the index segments already loaded. */
  async loadedSegments(): Promise<Set<string>> {
    const out = new Set<string>();
    const gte = new Uint8Array([SEGMENT_PREFIX]);
    const lt = new Uint8Array([SEGMENT_PREFIX + 1]);
    for await (const key of this.db.keys({ gte, lt })) out.add(new TextDecoder().decode(key.subarray(1)));
    return out;
  }

  /**
   * Adds every entry of a segment and marks it loaded, atomically. With `byPack`, entries are also
   * kept by pack, for {@link packEntries} (verification needs them; the backup path does not).
   */
  async addSegment(segmentIdHex: string, segment: IndexSegment, options: { byPack?: boolean } = {}): Promise<void> {
    const batch = this.db.batch();
    for (const pack of segment.packs) {
      const packId = toHex(pack.packId);
      for (const e of pack.entries) {
        const value = encodeBlobLocation(locationOf(packId, e));
        batch.put(blobKey(e.id), value);
        if (options.byPack) {
          const k = new Uint8Array(65);
          k[0] = PACK_PREFIX;
          k.set(pack.packId, 1);
          k.set(e.id, 33);
          batch.put(k, value);
        }
      }
    }
    batch.put(segmentKey(segmentIdHex), new Uint8Array(0));
    await batch.write();
  }

  /** Entries recorded for one pack (only those added with `byPack`). */
  async *packEntries(packIdHex: string): AsyncIterable<BlobLocation> {
    const gte = new Uint8Array(33);
    gte[0] = PACK_PREFIX;
    gte.set(Buffer.from(packIdHex, 'hex'), 1);
    const upper = new Uint8Array(65).fill(0xff);
    upper.set(gte);
    for await (const [key, value] of this.db.iterator({ gte, lte: upper }))
      yield decodeBlobLocation(key.slice(33), value);
  }

  /** Every cached blob location (walks the database: for statistics and checks). */
  async *locations(): AsyncIterable<BlobLocation> {
    const range = { gte: new Uint8Array([BLOB_PREFIX]), lt: new Uint8Array([BLOB_PREFIX + 1]) };
    for await (const [key, value] of this.db.iterator(range)) yield decodeBlobLocation(key.slice(1), value);
  }

  /** Number of blob entries (walks the keys: for diagnostics and benchmarks). */
  async countBlobs(): Promise<number> {
    let n = 0;
    for await (const _ of this.db.keys({ gte: new Uint8Array([BLOB_PREFIX]), lt: new Uint8Array([BLOB_PREFIX + 1]) }))
      n++;
    return n;
  }

  /** Removes everything (before a full rebuild). */
  async clear(): Promise<void> {
    await this.db.clear();
    await this.db.put(META_VERSION_KEY, new TextEncoder().encode(CACHE_VERSION));
  }

  async close(): Promise<void> {
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
  }

  /** Closes and deletes the cache directory. */
  async destroy(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
