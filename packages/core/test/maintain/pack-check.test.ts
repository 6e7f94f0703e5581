/**
 * verify's per-pack check (runs on worker threads): every blob opened and re-hashed, damage named
 * per blob, a bad header reported as such, and tree blobs handed back within the byte budget.
 */
import { describe, expect, it } from 'vitest';
import { encodeBlob } from '../../src/format/blob.js';
import { toHex } from '../../src/format/bytes.js';
import { PackWriter } from '../../src/format/pack-writer.js';
import { encodeTree } from '../../src/format/tree.js';
import { blake3 } from '../../src/hashing/index.js';
import { runPackCheck } from '../../src/maintain/pack-check.js';
import { TEST_KEYS } from '../format/helpers.js';

function buildPack() {
  const w = new PackWriter(TEST_KEYS.dataKey);
  const tree = encodeTree({ nodes: [] });
  w.add(encodeBlob(TEST_KEYS, 'data', new TextEncoder().encode('hello '.repeat(1000)), 'lz4'));
  w.add(encodeBlob(TEST_KEYS, 'tree', tree, 'none'));
  w.add(encodeBlob(TEST_KEYS, 'data', new Uint8Array(5000).fill(7), 'none'));
  const done = w.finish();
  return { pack: new Uint8Array(Buffer.concat(done.parts)), entries: done.entries, tree };
}

describe('runPackCheck', () => {
  it('opens every blob and hands back the trees', () => {
    const { pack, entries, tree } = buildPack();
    const r = runPackCheck(TEST_KEYS, { kind: 'check-pack', n: 1, buf: pack, keepTreeBytes: 1 << 20 });
    expect(r.n).toBe(1);
    expect(r.headerError).toBeUndefined();
    expect(r.blobErrors).toEqual([]);
    expect(r.blobsRead).toBe(3);
    expect(r.inHeader).toEqual(entries.map((e) => `${toHex(e.id)}:${e.offset}:${e.length}`));
    const t = entries[1]!;
    expect(r.trees).toEqual([{ key: `${toHex(t.id)}:${t.offset}:${t.length}`, raw: tree }]);
    // No room: trees are checked but not kept.
    expect(runPackCheck(TEST_KEYS, { kind: 'check-pack', n: 2, buf: pack, keepTreeBytes: 0 }).trees).toEqual([]);
  });

  it('names the damaged blob and still checks the others', () => {
    const { pack, entries } = buildPack();
    const bad = entries[2]!;
    const damaged = pack.slice();
    damaged[bad.offset + 40]! ^= 1;
    const r = runPackCheck(TEST_KEYS, { kind: 'check-pack', n: 3, buf: damaged, keepTreeBytes: 1 << 20 });
    expect(r.blobsRead).toBe(2);
    expect(r.blobErrors).toEqual([{ id: toHex(bad.id), code: 'AUTH_FAILED', message: expect.any(String) }]);
  });

  it('checks the pack id when asked, and then still tells the damaged blobs from the intact ones', () => {
    const { pack } = buildPack();
    const id = toHex(blake3(pack));
    const ok = runPackCheck(TEST_KEYS, { kind: 'check-pack', n: 5, buf: pack, keepTreeBytes: 0, packId: id });
    expect(ok.idMismatch).toBeUndefined();
    expect(ok.blobsRead).toBe(3);
    const damaged = pack.slice();
    damaged[10]! ^= 1;
    const bad = runPackCheck(TEST_KEYS, { kind: 'check-pack', n: 6, buf: damaged, keepTreeBytes: 0, packId: id });
    expect(bad).toMatchObject({ idMismatch: true, blobsRead: 2 });
    expect(bad.blobErrors).toEqual([
      { id: bad.inHeader[0]!.split(':')[0], code: 'AUTH_FAILED', message: expect.any(String) },
    ]);
  });

  it('reports an unreadable header without throwing', () => {
    const { pack } = buildPack();
    const damaged = pack.slice();
    damaged[damaged.length - 10]! ^= 0xff;
    const r = runPackCheck(TEST_KEYS, { kind: 'check-pack', n: 4, buf: damaged, keepTreeBytes: 0 });
    expect(r.headerError?.code).toMatch(/CORRUPT_DATA|AUTH_FAILED/);
    expect(r.blobsRead).toBe(0);
  });
});
