/**
 * Valid encodings the fuzz tests start from, all made with fixed test keys so that corpus files
 * written by one run stay valid inputs for every later run: packs, index segment payloads, sealed
 * objects, tree and snapshot documents, key files and compressed payloads.
 */
import { type Compression, compressBlob, zstdAvailable } from '../../src/compress/index.js';
import { createKeyFile } from '../../src/crypto/key-file.js';
import type { MasterKeys } from '../../src/crypto/master-keys.js';
import { type BlobKeys, type BlobType, encodeBlob } from '../../src/format/blob.js';
import { encodeIndexSegment } from '../../src/format/index-segment.js';
import { PackWriter } from '../../src/format/pack-writer.js';
import type { SnapshotDoc } from '../../src/format/snapshot.js';
import { encodeContentList, encodeTree, type TreeNode } from '../../src/format/tree.js';
import type { Rng } from './mutate.js';

/** Fixed test keys (never used outside tests). */
export const TEST_KEYS: MasterKeys & BlobKeys = {
  dataKey: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
  idKey: Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i),
  macKey: Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i),
  chunkerSeed: 0x0123456789abcdefn,
};
/** Password of the test key files. */
export const TEST_PASSWORD = 'fuzz password';
/** The cheapest KDF the key-file reader accepts: scrypt N=2^10. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

/** Compressible text of `size` bytes (varies with `salt`). */
export function text(size: number, salt = 0): Uint8Array {
  const words = ['ward ', 'record ', 'scan ', 'result ', 'the ', 'of ', String(salt), '\n'];
  const out = new Uint8Array(size);
  let off = 0;
  for (let i = salt; off < size; i = (i * 7 + 3) % 101) {
    const w = Buffer.from(words[i % words.length]!);
    out.set(w.subarray(0, size - off), off);
    off += w.length;
  }
  return out;
}

/** The compressions this runtime can write. */
export const COMPRESSIONS: Compression[] = zstdAvailable() ? ['none', 'lz4', 'zstd'] : ['none', 'lz4'];

/** A pack of a few blobs of mixed types and compressions. */
export function makePack(blobs: { type: BlobType; raw: Uint8Array; compression: Compression }[]): Uint8Array {
  const w = new PackWriter(TEST_KEYS.dataKey);
  for (const b of blobs) w.add(encodeBlob(TEST_KEYS, b.type, b.raw, b.compression));
  return new Uint8Array(Buffer.concat(w.finish().parts));
}

/** A handful of valid packs: empty, one blob, several of each type and compression. */
export function seedPacks(): Uint8Array[] {
  return [
    makePack([]),
    makePack([{ type: 'data', raw: text(100), compression: 'none' }]),
    makePack(
      COMPRESSIONS.flatMap((compression, i) => [
        { type: 'data' as const, raw: text(700 + i * 100, i), compression },
        { type: 'tree' as const, raw: encodeTree({ nodes: [sampleFile('f')] }), compression },
      ]),
    ),
    makePack([
      { type: 'data', raw: new Uint8Array(0), compression: 'lz4' },
      { type: 'data', raw: text(3000, 9), compression: COMPRESSIONS.at(-1)! },
    ]),
  ];
}

/** A plain file node. */
export function sampleFile(name: string, content: string[] = ['ab'.repeat(32)]): TreeNode {
  return {
    name: new Uint8Array(Buffer.from(name)),
    type: 'file',
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    user: 'alice',
    group: 'staff',
    mtimeNs: 1_700_000_000_123_456_789n,
    ctimeNs: 1_700_000_001_000_000_000n,
    inode: 123456n,
    device: 2049n,
    links: 1,
    size: 4096,
    content,
  };
}

/** Tree blobs: every node type, a non-UTF-8 name and target, a continuation, a content list. */
export function seedTrees(): Uint8Array[] {
  const id = (c: string) => c.repeat(64);
  const base = sampleFile('x');
  const nodes: TreeNode[] = [
    { ...base, name: new Uint8Array([0x61, 0xff, 0xfe]), content: [id('1'), id('2')] },
    { ...base, name: new Uint8Array(Buffer.from('big')), content: undefined, contentLists: [id('3')] },
    {
      ...base,
      name: new Uint8Array(Buffer.from('dev')),
      type: 'chardev',
      size: undefined,
      content: undefined,
      rdev: 259n,
    },
    {
      ...base,
      name: new Uint8Array(Buffer.from('dir')),
      type: 'dir',
      size: undefined,
      content: undefined,
      subtree: id('4'),
    },
    { ...base, name: new Uint8Array(Buffer.from('fifo')), type: 'fifo', size: undefined, content: undefined },
    {
      ...base,
      name: new Uint8Array(Buffer.from('link')),
      type: 'symlink',
      size: undefined,
      content: undefined,
      target: new Uint8Array([0x2e, 0x2e, 0x2f, 0xc0]),
    },
    { ...base, name: new Uint8Array(Buffer.from('ünï')), mtimeNs: -5n },
  ];
  return [
    encodeTree({ nodes }),
    encodeTree({ nodes: [], next: id('5') }),
    encodeTree({ nodes: [sampleFile('only')] }),
    encodeContentList([id('6'), id('7'), id('8')]),
  ];
}

/** A complete, valid snapshot document. */
export function sampleSnapshot(overrides: Partial<SnapshotDoc> = {}): SnapshotDoc {
  return {
    v: 1,
    time: '2025-03-01T02:00:00.000Z',
    host: 'ward-7',
    operator: 'alice',
    username: 'backup',
    paths: ['/srv/records'],
    tags: ['nightly'],
    class: 'critical',
    kind: 'incremental',
    parent: 'a'.repeat(64),
    tree: 'b'.repeat(64),
    programVersion: 'cairn 0.1.0',
    partial: true,
    errors: [{ path: '/srv/records/x', message: 'permission denied', code: 'PERMISSION_DENIED' }],
    errorCount: 1,
    excludes: ['*.tmp'],
    stats: {
      filesNew: 1,
      filesChanged: 2,
      filesUnchanged: 3,
      dirs: 4,
      bytesRead: 5,
      bytesAdded: 6,
      bytesStored: 7,
      totalBytes: 8,
      durationMs: 9,
    },
    notes: ['repaired'],
    original: 'c'.repeat(64),
    ...overrides,
  };
}

/** Index segment payloads: empty, superseding, several packs. */
export function seedSegments(): Uint8Array[] {
  const entry = (i: number) => ({
    type: (i % 2 === 0 ? 'data' : 'tree') as BlobType,
    compression: COMPRESSIONS[i % COMPRESSIONS.length]!,
    offset: i * 1000,
    length: 1000,
    rawLength: 2000 + i,
    id: new Uint8Array(32).fill(i),
  });
  return [
    encodeIndexSegment({ supersedes: [], packs: [] }),
    encodeIndexSegment({ supersedes: [new Uint8Array(32).fill(0xee)], packs: [] }),
    encodeIndexSegment({
      supersedes: [],
      packs: [
        { packId: new Uint8Array(32).fill(1), entries: [entry(0), entry(1), entry(2)] },
        { packId: new Uint8Array(32).fill(2), entries: [] },
        { packId: new Uint8Array(32).fill(3), entries: [entry(3)] },
      ],
    }),
  ];
}

/** Key files with the cheapest accepted KDFs (scrypt and Argon2id). */
export async function seedKeyFiles(): Promise<Uint8Array[]> {
  const created = new Date('2025-01-02T03:04:05.678Z');
  return [
    await createKeyFile(TEST_KEYS, TEST_PASSWORD, {
      scrypt: FAST_SCRYPT,
      host: 'h',
      username: 'u',
      createdAt: created,
    }),
    await createKeyFile(TEST_KEYS, TEST_PASSWORD, {
      kdf: 'argon2id',
      argon2id: { memoryKiB: 64, iterations: 1, parallelism: 1 },
      host: 'höst "quoted"',
      username: '',
      createdAt: created,
    }),
  ];
}

/**
 * Compressed payloads in the fuzz container format: declared raw length (u32 LE) ‖ the stored
 * bytes exactly as a blob holds them.
 */
export function compressedCase(raw: Uint8Array, compression: 'lz4' | 'zstd'): Uint8Array {
  const packed = compressBlob(raw, compression);
  if (packed.compression !== compression) throw new Error('test input did not compress');
  const out = new Uint8Array(4 + packed.data.length);
  new DataView(out.buffer).setUint32(0, raw.length, true);
  out.set(packed.data, 4);
  return out;
}

/** Random-ish raw inputs for the compressors: text, runs, and a little noise. */
export function compressibleInputs(r: Rng): Uint8Array[] {
  const noisy = text(5000, 3);
  for (let i = 0; i < 50; i++) noisy[r.below(noisy.length)] = r.below(256);
  return [text(64), text(2000, 1), new Uint8Array(70_000).fill(7), noisy];
}
