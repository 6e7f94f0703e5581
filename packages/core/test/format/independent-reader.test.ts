/**
 * Proves docs/format.md: a repository is written with Cairn's real API (the built `@cairn/core`),
 * laid out on disk as the disk store lays it out, and read back by `independent-reader.ts`, which
 * was written from the page alone. The reader opens the key files with their passwords (scrypt and
 * Argon2id), decrypts the config, lists the snapshots, walks every tree (continuations, content
 * lists, non-UTF-8 names) and reassembles every file, which must equal the source tree byte for
 * byte; it re-chunks every file with FastCDC from the page's tables and the master keys' seed.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackupSummary, backup, Repository, zstdAvailable } from '@cairn/core';
import { MemoryStore } from '@cairn/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blake3Hex,
  type Entry,
  fastcdc,
  IndependentRepository,
  type Location,
  tablesFromSpec,
} from './independent-reader.js';

const SPEC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'docs', 'format.md');
const PASSWORD = 'correct horse battery staple';
const SECOND_PASSWORD = 'Ångström ünïcode'; // NFC-normalised by writer and reader alike
/** Small chunks, so a 1 MiB file has more than 4096 of them (content lists). */
const CHUNKER = { min: 64, avg: 128, max: 256, normalization: 1 as const };

/** What the source tree holds at one path, as lstat and reads see it. */
interface Expected {
  type: string;
  mode: number;
  mtime: bigint;
  links: number;
  bytes?: Buffer;
  target?: Buffer;
}

/** Every entry below `dir`, keyed by the hex of its relative path bytes ('/'-joined). */
async function captureSource(dir: Buffer, rel: Buffer = Buffer.alloc(0), out = new Map<string, Expected>()) {
  for (const name of await fsp.readdir(dir, { encoding: 'buffer' })) {
    const full = Buffer.concat([dir, Buffer.from('/'), name]);
    const path = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
    const st = await fsp.lstat(full, { bigint: true });
    const e: Expected = { type: 'other', mode: Number(st.mode) & 0o7777, mtime: st.mtimeNs, links: Number(st.nlink) };
    if (st.isFile()) Object.assign(e, { type: 'file', bytes: await fsp.readFile(full) });
    else if (st.isSymbolicLink())
      Object.assign(e, { type: 'symlink', target: await fsp.readlink(full, { encoding: 'buffer' }) });
    else if (st.isDirectory()) e.type = 'dir';
    out.set(path.toString('hex'), e);
    if (st.isDirectory()) await captureSource(full, path, out);
  }
  return out;
}

/** The same map, from a snapshot through the independent reader. */
async function captureSnapshot(
  r: IndependentRepository,
  tree: string,
  rel: Buffer = Buffer.alloc(0),
  out = new Map<string, Expected>(),
) {
  for (const e of await r.entries(tree)) {
    const path = rel.length ? Buffer.concat([rel, Buffer.from('/'), e.name]) : e.name;
    const x: Expected = { type: e.type, mode: e.mode, mtime: e.mtime, links: e.links };
    if (e.type === 'file') x.bytes = await r.fileBytes(e);
    if (e.type === 'symlink') x.target = e.target!;
    out.set(path.toString('hex'), x);
    if (e.type === 'dir') await captureSnapshot(r, e.subtree!, path, out);
  }
  return out;
}

/** Writes a small tree with every corner the format has. */
function makeSource(src: string): void {
  mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(src, 'many'));
  writeFileSync(join(src, 'hello.txt'), 'hello world\n');
  writeFileSync(join(src, 'empty'), '');
  writeFileSync(join(src, 'exec.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(src, 'secret'), 'only me', { mode: 0o600 });
  writeFileSync(join(src, 'text.txt'), 'the ward record of the scan result\n'.repeat(1500));
  writeFileSync(join(src, 'random.bin'), randomBytes(20_000));
  const dup = randomBytes(10_000);
  writeFileSync(join(src, 'dup-a.bin'), dup);
  writeFileSync(join(src, 'sub', 'dup-b.bin'), dup);
  writeFileSync(join(src, 'sub', 'deeper', 'x.txt'), 'deep');
  writeFileSync(join(src, 'big.bin'), randomBytes(1024 * 1024)); // > 4096 chunks: content lists
  const bytePath = (...parts: (string | number[])[]) =>
    Buffer.concat([
      Buffer.from(`${src}/`),
      ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))),
    ]);
  writeFileSync(bytePath('n', [0xff], '.bin'), 'not utf-8 name'); // nameRaw
  writeFileSync(join(src, '\ufeffbom.txt'), 'name starts with a byte-order mark'); // nameRaw too
  symlinkSync('hello.txt', join(src, 'link'));
  linkSync(join(src, 'hello.txt'), join(src, 'hard.txt'));
  symlinkSync(Buffer.from([0x74, 0xfe]), bytePath('odd')); // dangling, target not UTF-8: targetRaw
  // More than 10 000 entries: the directory continues in a second tree blob (`next`).
  for (let i = 0; i <= 10_000; i++) symlinkSync(`t${i}`, join(src, 'many', `l${String(i).padStart(5, '0')}`));
}

for (const compression of ['lz4', 'zstd'] as const) {
  describe.runIf(compression === 'lz4' || zstdAvailable())(`independent reader (${compression} repository)`, () => {
    let work: string;
    let src: string;
    let disk: string;
    let repo: Repository;
    const summaries: BackupSummary[] = [];
    const expected: Map<string, Expected>[] = [];
    let reader: IndependentRepository;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'cairn-format-'));
      src = join(work, 'src');
      disk = join(work, 'repo');
      makeSource(src);
      const store = new MemoryStore();
      repo = await Repository.init(store, {
        password: PASSWORD,
        scrypt: { N: 1024, r: 8, p: 1 },
        chunker: CHUNKER,
        compression,
        packSize: 1024 * 1024,
        cacheDir: join(work, 'cache'),
      });
      await repo.addKey(SECOND_PASSWORD, { kdf: 'argon2id' });

      expected.push(await captureSource(Buffer.from(src)));
      summaries.push(await backup(repo, { paths: [src], threads: 0, kind: 'full', tags: ['first'] }));
      writeFileSync(join(src, 'hello.txt'), 'hello again\n', { flag: 'a' });
      rmSync(join(src, 'random.bin'));
      writeFileSync(join(src, 'sub', 'new.txt'), 'new in the second snapshot');
      expected.push(await captureSource(Buffer.from(src)));
      summaries.push(await backup(repo, { paths: [src], threads: 0 }));
      await repo.close();

      // Lay the objects out as @cairn/store-disk does: object `a/b/c` is the file `<root>/a/b/c`.
      for await (const obj of store.list('')) {
        mkdirSync(dirname(join(disk, obj.name)), { recursive: true });
        writeFileSync(join(disk, obj.name), await store.get(obj.name));
      }
      reader = await IndependentRepository.open(disk, PASSWORD);
    }, 180_000);

    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('opens every key file with its password (scrypt, Argon2id) to the same master keys', async () => {
      expect(reader.keys.dataKey).toEqual(repo.keys.dataKey);
      expect(reader.keys.idKey).toEqual(repo.keys.idKey);
      expect(reader.keys.macKey).toEqual(repo.keys.macKey);
      expect(reader.keys.chunkerSeed).toBe(repo.keys.chunkerSeed);
      const second = await IndependentRepository.open(disk, SECOND_PASSWORD);
      expect(second.keyId).not.toBe(reader.keyId);
      expect(second.keys).toEqual(reader.keys);
      const doc = JSON.parse(readFileSync(join(disk, 'keys', second.keyId), 'utf8'));
      expect(doc.kdf.algorithm).toBe('argon2id');
      await expect(IndependentRepository.open(disk, 'wrong password')).rejects.toThrow('no key file opens');
    }, 60_000);

    it('decrypts the config', () => {
      expect(reader.config).toEqual(JSON.parse(JSON.stringify(repo.config)));
      expect(reader.config.chunker).toMatchObject({ algorithm: 'fastcdc-2020', ...CHUNKER });
      expect(reader.config.compression).toBe(compression);
    });

    it('lists the snapshots with every field', async () => {
      const snaps = await reader.snapshots();
      expect(snaps.map((s) => s.id)).toEqual(summaries.map((s) => s.snapshotId));
      for (const [i, s] of snaps.entries()) {
        const { id: _id, ...doc } = summaries[i]!.snapshot;
        expect(s.doc).toEqual(JSON.parse(JSON.stringify(doc)));
        expect(s.doc.paths).toEqual([src]);
      }
      expect(snaps[0]!.doc).toMatchObject({ kind: 'full', parent: null, tags: ['first'] });
      expect(snaps[1]!.doc).toMatchObject({ kind: 'incremental', parent: snaps[0]!.id });
    });

    it('reassembles every file, link and directory of every snapshot exactly', async () => {
      const snaps = await reader.snapshots();
      for (const [i, s] of snaps.entries()) {
        const got = await captureSnapshot(reader, await reader.treeAt(s.doc.tree as string, src));
        expect([...got.keys()].sort()).toEqual([...expected[i]!.keys()].sort());
        for (const [path, want] of expected[i]!) {
          const have = got.get(path)!;
          const label = Buffer.from(path, 'hex').toString('latin1');
          expect({ ...have, bytes: undefined }, label).toEqual({ ...want, bytes: undefined });
          if (want.bytes) expect(have.bytes!.equals(want.bytes), label).toBe(true);
        }
      }
      // The corners were really exercised: continuation, content lists, raw names and targets.
      expect(reader.seen.nextLinks).toBeGreaterThan(0);
      expect(reader.seen.contentLists).toBeGreaterThan(0);
      expect(reader.seen.rawNames).toBeGreaterThanOrEqual(2);
      expect(reader.seen.compressions.has(compression === 'lz4' ? 1 : 2)).toBe(true);
    }, 120_000);

    it('stores names and targets that are not UTF-8 as nameRaw / targetRaw', async () => {
      const entries = await reader.entries(await reader.treeAt((await reader.snapshots())[0]!.doc.tree as string, src));
      const byName = (b: Buffer) => entries.find((e) => e.name.equals(b))!;
      expect(byName(Buffer.from('n\xff.bin', 'latin1')).raw.nameRaw).toBe(
        Buffer.from('n\xff.bin', 'latin1').toString('base64'),
      );
      expect(byName(Buffer.from('\ufeffbom.txt')).raw.name).toBeUndefined();
      expect(byName(Buffer.from('odd')).raw.targetRaw).toBe(Buffer.from([0x74, 0xfe]).toString('base64'));
      expect(byName(Buffer.from('link')).raw.target).toBe('hello.txt');
      expect(byName(Buffer.from('hard.txt')).links).toBe(2);
      expect(byName(Buffer.from('hard.txt')).inode).toBe(byName(Buffer.from('hello.txt')).inode);
    });

    it("cuts files into chunks exactly as §14 says, with the master keys' seed", async () => {
      const tables = tablesFromSpec(readFileSync(SPEC, 'utf8'));
      const params = { ...CHUNKER, seed: reader.keys.chunkerSeed };
      const entries = await reader.entries(await reader.treeAt((await reader.snapshots())[0]!.doc.tree as string, src));
      const files = entries.filter((e): e is Entry & { size: number } => e.type === 'file');
      let unseededDiffers = false;
      for (const file of files) {
        const bytes = await reader.fileBytes(file);
        const ids: string[] = [];
        const lengths = fastcdc(bytes, params, tables);
        let at = 0;
        for (const length of lengths) {
          ids.push(await blake3Hex(bytes.subarray(at, at + length), reader.keys.idKey));
          at += length;
        }
        expect(ids, file.name.toString('latin1')).toEqual(await reader.chunkIds(file));
        const plain = fastcdc(bytes, { ...params, seed: 0n }, tables);
        if (plain.length !== lengths.length || plain.some((l, i) => l !== lengths[i])) unseededDiffers = true;
      }
      // The seed matters: without it some file would be cut elsewhere.
      expect(unseededDiffers).toBe(true);
    }, 120_000);

    it('pack headers agree with the index segments, and every id is the hash of its object', async () => {
      const packs = await reader.packs();
      const fromHeaders = new Map<string, Location>();
      for (const list of packs.values()) for (const e of list) fromHeaders.set(e.id, e);
      expect(fromHeaders.size).toBe(reader.index.size);
      for (const [id, loc] of reader.index) expect(fromHeaders.get(id), id).toEqual(loc);
      // Data and tree blobs live in separate packs.
      for (const list of packs.values()) expect(new Set(list.map((e) => e.type)).size).toBeLessThanOrEqual(1);
    });
  });
}
