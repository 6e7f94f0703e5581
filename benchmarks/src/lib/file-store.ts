/**
 * A minimal file-backed {@link Store} for benchmarks that drive a repository through core's public
 * API without depending on @cairn/store-disk: one file per object, written to a temporary name and
 * renamed (no fsync: benchmarks measure the engine, not the disk's flush latency). Not for real use.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import {
  CairnError,
  collectBytes,
  type GetOptions,
  type ObjectInfo,
  type Store,
  type StoreCapabilities,
} from '@cairn/core';

let seq = 0;

export class BenchFileStore implements Store {
  readonly capabilities: StoreCapabilities = {
    rangeReads: true,
    deletes: true,
    overwrite: true,
    sequential: false,
    immutability: false,
    atomicPut: true,
  };
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  private path(name: string): string {
    return join(this.root, ...name.split('/'));
  }

  async put(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: { overwrite?: boolean }) {
    const path = this.path(name);
    if (!options?.overwrite && (await stat(path).catch(() => undefined))) {
      throw new CairnError('ALREADY_EXISTS', `${name} already exists`);
    }
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.tmp-${process.pid}-${++seq}`);
    await writeFile(tmp, await collectBytes(data));
    await rename(tmp, path);
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    const path = this.path(name);
    try {
      if (options?.offset === undefined && options?.length === undefined) return new Uint8Array(await readFile(path));
      const h = await open(path, 'r');
      try {
        const size = (await h.stat()).size;
        const start = Math.min(options.offset ?? 0, size);
        const end = options.length === undefined ? size : Math.min(size, start + options.length);
        const buf = new Uint8Array(end - start);
        let done = 0;
        while (done < buf.length) {
          const { bytesRead } = await h.read(buf, done, buf.length - done, start + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buf.subarray(0, done);
      } finally {
        await h.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CairnError('NOT_FOUND', `${name} not found`);
      throw err;
    }
  }

  async stat(name: string): Promise<ObjectInfo> {
    const st = await stat(this.path(name)).catch(() => undefined);
    if (!st) throw new CairnError('NOT_FOUND', `${name} not found`);
    return { name, size: st.size };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const root = this.root;
    async function* walk(d: string): AsyncIterable<ObjectInfo> {
      const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const full = join(d, e.name);
        if (e.isDirectory()) yield* walk(full);
        else {
          const name = relative(root, full);
          if (name.startsWith(prefix)) yield { name, size: (await stat(full)).size };
        }
      }
    }
    yield* walk(prefix.endsWith('/') ? this.path(prefix.slice(0, -1)) : root);
  }

  async delete(name: string): Promise<void> {
    await rm(this.path(name), { force: true });
  }

  async close(): Promise<void> {}
}
