/** Helpers of the index tests: deterministic ids and entries, temporary cache directories. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { PackEntry } from '../../src/format/pack-header.js';
import type { IndexCache } from '../../src/index/index-cache.js';

/** A 32-byte id from (salt, n), spread like a hash. */
export function makeId(salt: number, n: number): Uint8Array {
  const out = new Uint8Array(32);
  const v = new DataView(out.buffer);
  for (let w = 0; w < 8; w++) {
    let h = (n ^ Math.imul(w + 1, 0x9e3779b9) ^ (salt << 24)) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    v.setUint32(w * 4, h >>> 0);
  }
  return out;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** `count` entries of blobs (salt 1, numbers from `first`) laid out in a pack. */
export function makeEntries(first: number, count: number): PackEntry[] {
  const out: PackEntry[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const n = first + i;
    const length = 40 + ((n * 7919) % 100_000);
    out.push({
      type: n % 5 === 0 ? 'tree' : 'data',
      compression: (['none', 'lz4', 'zstd'] as const)[n % 3]!,
      id: makeId(1, n),
      offset,
      length,
      rawLength: length - 40 + (n % 17),
    });
    offset += length;
  }
  return out;
}

/** Pack id number `n` (hex). */
export const packIdHex = (n: number) => hex(makeId(3, n));

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A temporary directory removed after the test. */
export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'cairn-index-test-'));
  dirs.push(d);
  return d;
}

/**
 * Makes the cache's LevelDB batch writes fail from the `failAt`-th on: what a crash looks like to
 * the database (earlier batches are durable, later ones never happen).
 */
export function failBatchesFrom(cache: IndexCache, failAt: number): void {
  const db = (cache as unknown as { db: { batch: (ops: unknown[]) => Promise<void> } }).db;
  const batch = db.batch.bind(db);
  let n = 0;
  db.batch = async (ops: unknown[]) => {
    if (++n >= failAt) throw new Error('simulated crash');
    return batch(ops);
  };
}
