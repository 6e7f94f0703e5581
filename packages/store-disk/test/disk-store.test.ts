import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeConformanceSuite } from '@cairn/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type DiskFileSystem, DiskStore } from '../src/index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(join(tmpdir(), 'cairn-disk-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

storeConformanceSuite(
  { describe, it },
  {
    name: 'DiskStore',
    create: async () => new DiskStore(join(await tempDir(), 'repo')),
    destroy: async (store) => fs.rm((store as DiskStore).root, { recursive: true, force: true }),
  },
);

/** Wraps node:fs/promises so that writes fail with `code` after `afterBytes` bytes. */
function failingWrites(code: string, afterBytes: number): DiskFileSystem {
  let written = 0;
  return {
    ...fs,
    open: (async (path: string, flags?: string, mode?: number) => {
      const h = await fs.open(path, flags, mode);
      if (flags !== 'wx') return h;
      const write = h.write.bind(h) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
      (h as unknown as { write: unknown }).write = async (buf: Uint8Array, off: number, len: number) => {
        if (written + len > afterBytes) throw Object.assign(new Error(`${code}: injected`), { code });
        written += len;
        return write(buf, off, len);
      };
      return h;
    }) as typeof fs.open,
  };
}

describe('DiskStore keeps packs open for reads', () => {
  const openFds = async () => (await fs.readdir('/proc/self/fd')).length;

  it('reads ranges of many packs at once, each right, and leaves no file open once reading stops', async () => {
    const store = new DiskStore(join(await tempDir(), 'repo'), { noSync: true });
    const packs = Array.from({ length: 40 }, (_, i) => ({
      name: `data/${String(i).padStart(2, '0')}/pack${i}`,
      bytes: randomBytes(50_000 + i),
    }));
    for (const p of packs) await store.put(p.name, p.bytes);
    const before = await openFds();
    const reads = [];
    for (let round = 0; round < 5; round++) {
      for (const p of packs) {
        const offset = (round * 7919) % 40_000;
        reads.push(
          store
            .get(p.name, { offset, length: 1000 })
            .then((got) => ({ got, want: p.bytes.subarray(offset, offset + 1000) })),
        );
      }
    }
    for (const { got, want } of await Promise.all(reads)) expect(Buffer.from(got).equals(want)).toBe(true);
    expect(await openFds()).toBeLessThanOrEqual(before + 32); // at most 32 kept open
    // Once reading stops, nothing stays open (a backup disk can be unmounted), even unclosed.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openFds()).toBe(before);
    const again = store.get(packs[0]!.name, { offset: 0, length: 10 });
    await store.close();
    expect(Buffer.from(await again).equals(packs[0]!.bytes.subarray(0, 10))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openFds()).toBe(before);
  });

  it('with packIdleMs, keeps idle packs open that long, then closes them', async () => {
    const store = new DiskStore(join(await tempDir(), 'repo'), { noSync: true, packIdleMs: 300 });
    await store.put('data/aa/p', randomBytes(1000));
    await store.put('data/bb/q', randomBytes(1000));
    const before = await openFds();
    await store.get('data/aa/p', { offset: 0, length: 10 });
    await store.get('data/bb/q', { offset: 0, length: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openFds()).toBe(before + 2); // idle, not yet closed
    await store.get('data/aa/p', { offset: 10, length: 10 }); // used again: its idle time restarts
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await openFds()).toBe(before);
    await store.get('data/aa/p', { offset: 0, length: 10 });
    await store.close();
    expect(await openFds()).toBe(before);
  });

  it('does not serve a deleted pack from its open file, and reads a pack put again', async () => {
    const store = new DiskStore(join(await tempDir(), 'repo'), { noSync: true });
    const bytes = randomBytes(10_000);
    await store.put('data/aa/p', bytes);
    expect(Buffer.from(await store.get('data/aa/p', { offset: 5, length: 10 })).equals(bytes.subarray(5, 15))).toBe(
      true,
    );
    await store.delete('data/aa/p');
    await expect(store.get('data/aa/p')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await store.put('data/aa/p', bytes);
    expect(Buffer.from(await store.get('data/aa/p')).equals(bytes)).toBe(true);
    await store.close();
  });
});

describe('DiskStore on a real disk', () => {
  it('keeps objects in fan-out folders and leaves no temporary files', async () => {
    const root = await tempDir();
    const store = new DiskStore(root);
    await store.put('data/ab/abcdef', randomBytes(100));
    expect((await fs.readdir(join(root, 'data', 'ab'))).sort()).toEqual(['abcdef']);
  });

  it('maps ENOSPC to NO_SPACE and leaves nothing half-written', async () => {
    const root = await tempDir();
    const store = new DiskStore(root, { fileSystem: failingWrites('ENOSPC', 1000) });
    await expect(store.put('data/00/big', randomBytes(5000))).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(await fs.readdir(join(root, 'data', '00'))).toEqual([]);
    await expect(store.get('data/00/big')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('maps EACCES to PERMISSION_DENIED', async () => {
    const root = await tempDir();
    const store = new DiskStore(root, { fileSystem: failingWrites('EACCES', 0) });
    const err = await store.put('keys/k', randomBytes(10)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((err as Error).message).toMatch(/permission denied/);
  });

  it('reports PERMISSION_DENIED for a read-only directory when not root', async () => {
    if (process.getuid?.() === 0) {
      // root ignores mode bits; the injected EACCES case above covers the mapping.
      const root = await tempDir();
      const store = new DiskStore(join(root, 'ro'));
      await store.put('x', randomBytes(1));
      return;
    }
    const root = await tempDir();
    await fs.chmod(root, 0o500);
    const store = new DiskStore(root);
    await expect(store.put('data/00/x', randomBytes(10))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await fs.chmod(root, 0o700);
  });

  it('fails with NO_SPACE on a full file system (tmpfs, when mount is permitted)', async (ctx) => {
    const root = await tempDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root], { stdio: 'ignore' });
    } catch {
      ctx.skip('cannot mount a tmpfs here (not root or no CAP_SYS_ADMIN); the injected ENOSPC case covers it');
      return;
    }
    try {
      const store = new DiskStore(root);
      await store.put('data/00/small', randomBytes(100_000));
      await expect(store.put('data/01/huge', randomBytes(2 * 1024 * 1024))).rejects.toMatchObject({ code: 'NO_SPACE' });
      expect(await fs.readdir(join(root, 'data', '01'))).toEqual([]);
      expect((await store.get('data/00/small')).length).toBe(100_000);
      await store.close(); // it keeps packs open for reads until closed
    } finally {
      execFileSync('umount', [root]);
    }
  });

  it('cleans up stale temporary files from killed writers', async () => {
    const root = await tempDir();
    const store = new DiskStore(root);
    await store.put('data/00/a', randomBytes(10));
    const stale = join(root, 'data', '00', '.tmp-deadbeef');
    await fs.writeFile(stale, 'partial');
    const old = new Date(Date.now() - 48 * 3600_000);
    await fs.utimes(stale, old, old);
    expect([...(await collect(store.list('data/')))].map((i) => i.name)).toEqual(['data/00/a']);
    expect(await store.removeStaleTemporaryFiles()).toBe(1);
    expect(await fs.readdir(join(root, 'data', '00'))).toEqual(['a']);
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
