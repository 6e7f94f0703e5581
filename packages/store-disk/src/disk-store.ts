/**
 * A Store on a local file system or NAS mount. Object `a/b/c` is the file `<root>/a/b/c`.
 *
 * Guarantees: a put writes a dot-named temporary file in the target folder, fsyncs it, then moves
 * it under its final name (with link(2), which refuses to replace an existing object atomically,
 * or rename(2) when overwriting) and fsyncs the folder; so an object is never visible half-written
 * and survives a power cut once put resolves. Temporary files are invisible to `list` and `get`.
 * OS errors become typed errors: ENOSPC/EDQUOT → NO_SPACE, EACCES/EPERM/EROFS → PERMISSION_DENIED.
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  assertObjectName,
  CairnError,
  type GetOptions,
  type ObjectInfo,
  type PutOptions,
  resolveRange,
  type Store,
  type StoreCallOptions,
  type StoreCapabilities,
  throwIfAborted,
} from '@cairn/core';

/** The file-system calls the store makes; replaceable only to inject faults in tests. */
export type DiskFileSystem = Pick<typeof nodeFs, 'open' | 'mkdir' | 'link' | 'rename' | 'unlink' | 'stat' | 'readdir'>;

export interface DiskStoreOptions {
  /** Skip fsync (tests and throwaway repositories only: a crash may lose acknowledged writes). */
  noSync?: boolean;
  /** Fault injection for tests. */
  fileSystem?: DiskFileSystem;
  /**
   * How long (ms) a pack file no read uses stays open. Default 0: closed by the next turn of the
   * event loop, so a disk can be unmounted as soon as an operation ends even if the store is never
   * closed. An owner that calls {@link DiskStore.close} when done (as the CLI does) can keep them
   * longer: a restore comes back to each pack batch after batch (the CLI's 250 ms took a bench
   * restore from 214 pack opens to 67).
   */
  packIdleMs?: number;
}

/** Capabilities of a disk: everything but retention locks. */
export const DISK_STORE_CAPABILITIES: StoreCapabilities = {
  rangeReads: true,
  deletes: true,
  overwrite: true,
  sequential: false,
  immutability: false,
  atomicPut: true,
};

const TEMP_PREFIX = '.tmp-';
/** Pack files kept open for reads: a restore reads many ranges of each pack, in turn. */
const OPEN_PACKS = 32;

/** An open pack file, shared by the reads that use it; closed when evicted and unused. */
interface OpenPack {
  ready: Promise<{ handle: nodeFs.FileHandle; size: number }>;
  users: number;
  evicted: boolean;
  /** When the last read using it ended (performance.now()). */
  idleSince: number;
}

/** A Store rooted at a directory. */
export class DiskStore implements Store {
  readonly capabilities = DISK_STORE_CAPABILITIES;
  readonly location: string;
  private readonly fs: DiskFileSystem;
  private readonly sync: boolean;
  private readonly knownDirs = new Set<string>();
  /** Open packs (`data/…`, immutable and never overwritten), least recently used first. */
  private readonly openPacks = new Map<string, OpenPack>();
  /** Cancels the pending check for idle packs, if one is scheduled. */
  private cancelIdleCheck: (() => void) | undefined;
  private readonly packIdleMs: number;

  constructor(
    readonly root: string,
    options?: DiskStoreOptions,
  ) {
    this.location = root;
    this.fs = options?.fileSystem ?? nodeFs;
    this.sync = !options?.noSync;
    this.packIdleMs = Math.max(0, options?.packIdleMs ?? 0);
  }

  private path(name: string): string {
    assertObjectName(name);
    return join(this.root, ...name.split('/'));
  }

  async put(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    const target = this.path(name);
    throwIfAborted(options?.signal);
    if (options?.retainUntil) {
      throw new CairnError('NOT_SUPPORTED', `${this.location}: a disk cannot keep objects immutable (retainUntil)`);
    }
    const dir = dirname(target);
    this.forgetOpenPack(name); // an overwrite must not leave the old bytes readable
    await this.ensureDir(dir, name);
    if (!options?.overwrite && (await this.exists(target))) {
      throw new CairnError('ALREADY_EXISTS', `${name} already exists in ${this.location}`, { details: { name } });
    }
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let handle: nodeFs.FileHandle | undefined;
    let published = false;
    try {
      handle = await this.fs.open(temp, 'wx', 0o644);
      if (data instanceof Uint8Array) {
        await writeAll(handle, data);
      } else {
        for await (const part of data) {
          throwIfAborted(options?.signal);
          await writeAll(handle, part);
        }
      }
      throwIfAborted(options?.signal);
      if (this.sync) await handle.sync();
      await handle.close();
      handle = undefined;
      if (options?.overwrite) {
        await this.fs.rename(temp, target);
      } else {
        await this.publishExclusive(temp, target, name);
      }
      published = true;
      if (this.sync) await syncDir(this.fs, dir);
    } catch (err) {
      throw toStoreError(err, name, this.location);
    } finally {
      await handle?.close().catch(() => {});
      if (!published || !options?.overwrite) await this.fs.unlink(temp).catch(() => {});
    }
  }

  /** Moves `temp` to `target` only if `target` does not exist: link(2) is atomic about that. */
  private async publishExclusive(temp: string, target: string, name: string): Promise<void> {
    try {
      await this.fs.link(temp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new CairnError('ALREADY_EXISTS', `${name} already exists in ${this.location}`, { details: { name } });
      }
      // File systems without hard links (some NAS mounts): check, then rename; a race can only
      // replace an object with identical content, since names are content hashes or unique ids.
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'ENOSYS') {
        if (await this.exists(target)) {
          throw new CairnError('ALREADY_EXISTS', `${name} already exists in ${this.location}`, { details: { name } });
        }
        await this.fs.rename(temp, target);
        return;
      }
      throw err;
    }
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    const file = this.path(name);
    throwIfAborted(options?.signal);
    if (name.startsWith('data/')) {
      // Packs: the file stays open for the next ranges (open, fstat and close cost more than a
      // small read). Objects are immutable, so an open file can only show the bytes put.
      const pack = this.openPack(name, file);
      try {
        const { handle, size } = await pack.ready;
        return await readRange(handle, size, options);
      } catch (err) {
        throw toStoreError(err, name, this.location);
      } finally {
        this.releasePack(pack);
      }
    }
    let handle: nodeFs.FileHandle | undefined;
    try {
      handle = await this.fs.open(file, 'r');
      const { size } = await handle.stat();
      return await readRange(handle, size, options);
    } catch (err) {
      throw toStoreError(err, name, this.location);
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  /** The open pack `name`, counted as used until {@link releasePack}. */
  private openPack(name: string, file: string): OpenPack {
    let pack = this.openPacks.get(name);
    if (pack)
      this.openPacks.delete(name); // re-inserted below: most recently used
    else {
      const ready = (async () => {
        const handle = await this.fs.open(file, 'r');
        try {
          return { handle, size: (await handle.stat()).size };
        } catch (err) {
          await handle.close().catch(() => {});
          throw err;
        }
      })();
      const created: OpenPack = { ready, users: 0, evicted: false, idleSince: 0 };
      // A failed open is forgotten at once (a missing pack may be put later).
      ready.catch(() => void this.evictPack(name, created));
      pack = created;
    }
    this.openPacks.set(name, pack);
    pack.users++; // before any await: eviction cannot close a file about to be read
    for (const [oldest, p] of this.openPacks) {
      if (this.openPacks.size <= OPEN_PACKS) break;
      this.evictPack(oldest, p);
    }
    return pack;
  }

  private releasePack(pack: OpenPack): void {
    pack.users--;
    if (pack.evicted && pack.users === 0) void closePack(pack);
    // Files no read took up again within packIdleMs (by default: by the next turn of the event
    // loop) are closed: reads that follow one another keep a pack open, and nothing stays open
    // once reading stops (a backup disk can be unmounted as soon as the operation is over).
    if (pack.evicted) return;
    pack.idleSince = performance.now();
    if (!this.cancelIdleCheck) this.scheduleIdleCheck();
  }

  private scheduleIdleCheck(): void {
    const check = () => {
      this.cancelIdleCheck = undefined;
      const now = performance.now();
      let waiting = false;
      for (const [name, p] of [...this.openPacks]) {
        if (p.users > 0) continue;
        if (now - p.idleSince >= this.packIdleMs) void this.evictPack(name, p);
        else waiting = true;
      }
      if (waiting) this.scheduleIdleCheck();
    };
    if (this.packIdleMs === 0) {
      const immediate = setImmediate(check);
      this.cancelIdleCheck = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(check, this.packIdleMs).unref(); // never keeps the process alive
      this.cancelIdleCheck = () => clearTimeout(timer);
    }
  }

  /** Forgets the open pack `name`, if any (before it changes). */
  private forgetOpenPack(name: string): void {
    const pack = this.openPacks.get(name);
    if (pack) void this.evictPack(name, pack);
  }

  /** Forgets an open pack; its file is closed once no read uses it. */
  private evictPack(name: string, pack: OpenPack): Promise<void> {
    if (this.openPacks.get(name) === pack) this.openPacks.delete(name);
    if (pack.evicted) return Promise.resolve();
    pack.evicted = true;
    return pack.users === 0 ? closePack(pack) : Promise.resolve();
  }

  async stat(name: string, options?: StoreCallOptions): Promise<ObjectInfo> {
    const file = this.path(name);
    throwIfAborted(options?.signal);
    try {
      const st = await this.fs.stat(file);
      if (!st.isFile()) throw new CairnError('NOT_FOUND', `${name} is not an object in ${this.location}`);
      return { name, size: st.size };
    } catch (err) {
      throw toStoreError(err, name, this.location);
    }
  }

  async *list(prefix: string, options?: StoreCallOptions): AsyncIterable<ObjectInfo> {
    if (prefix !== '') assertObjectName(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
    // Walk only the deepest folder the prefix fully names.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.walk(base, prefix, options?.signal);
  }

  private async *walk(rel: string, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    const dir = rel === '' ? this.root : join(this.root, ...rel.split('/'));
    let entries: import('node:fs').Dirent[];
    try {
      entries = await this.fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw toStoreError(err, rel, this.location);
    }
    for (const entry of entries) {
      throwIfAborted(signal);
      if (entry.name.startsWith('.')) continue;
      const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (prefix.startsWith(`${name}/`) || name.startsWith(prefix) || `${name}/`.startsWith(prefix)) {
          yield* this.walk(name, prefix, signal);
        }
      } else if (entry.isFile() && name.startsWith(prefix)) {
        try {
          const st = await this.fs.stat(join(dir, entry.name));
          yield { name, size: st.size };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw toStoreError(err, name, this.location);
        }
      }
    }
  }

  async delete(name: string, options?: StoreCallOptions): Promise<void> {
    const file = this.path(name);
    throwIfAborted(options?.signal);
    this.forgetOpenPack(name); // later reads must not find it through an open file
    try {
      await this.fs.unlink(file);
      if (this.sync) await syncDir(this.fs, dirname(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw toStoreError(err, name, this.location);
    }
  }

  /**
   * Removes temporary files older than `olderThanMs` left by writers that were killed mid-put.
   * Returns how many were removed. Safe while other writers run if the age exceeds any put's duration.
   */
  async removeStaleTemporaryFiles(olderThanMs = 24 * 3600_000): Promise<number> {
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await this.fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await visit(p);
        else if (e.name.startsWith(TEMP_PREFIX)) {
          const st = await this.fs.stat(p).catch(() => undefined);
          if (st && Date.now() - st.mtimeMs > olderThanMs) {
            await this.fs.unlink(p).catch(() => {});
            removed++;
          }
        }
      }
    };
    await visit(this.root);
    return removed;
  }

  /** Closes the pack files kept open for reads (reads in progress close theirs when done). */
  async close(): Promise<void> {
    this.cancelIdleCheck?.();
    this.cancelIdleCheck = undefined;
    await Promise.all([...this.openPacks].map(([name, pack]) => this.evictPack(name, pack)));
  }

  private async exists(file: string): Promise<boolean> {
    try {
      await this.fs.stat(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  private async ensureDir(dir: string, name: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    try {
      await this.fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw toStoreError(err, name, this.location);
    }
    this.knownDirs.add(dir);
  }
}

async function writeAll(handle: nodeFs.FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

async function syncDir(fs: DiskFileSystem, dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Maps an OS error to a typed store error; CairnErrors pass through unchanged. */
export function toStoreError(err: unknown, name: string, location: string): CairnError {
  if (err instanceof CairnError) return err;
  const e = err as NodeJS.ErrnoException;
  const where = `${name} in ${location}`;
  switch (e?.code) {
    case 'ENOENT':
      return new CairnError('NOT_FOUND', `${where} does not exist`, { cause: err, details: { name } });
    case 'ENOSPC':
    case 'EDQUOT':
      return new CairnError('NO_SPACE', `no space left on ${location} while writing ${name}: free space and retry`, {
        cause: err,
        details: { name },
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new CairnError(
        'PERMISSION_DENIED',
        `permission denied for ${where} (${e.code}): check ownership and mount options`,
        {
          cause: err,
          details: { name },
        },
      );
    case 'ABORT_ERR':
      return new CairnError('ABORTED', 'operation was cancelled', { cause: err });
    default:
      return new CairnError('IO_ERROR', `I/O error on ${where}: ${e?.message ?? String(err)}`, {
        cause: err,
        details: { name, errno: e?.code },
      });
  }
}

/** Reads the requested range of an open file of `size` bytes (into `options.into` when it fits). */
async function readRange(handle: nodeFs.FileHandle, size: number, options?: GetOptions): Promise<Uint8Array> {
  const [start, end] = resolveRange(size, options);
  const into = options?.into;
  // Not zero-filled: every byte is read into (or cut off below when the file is shorter). A read
  // of its own ArrayBuffer, so it can be transferred to another thread without a copy.
  const out = into && into.length >= end - start ? into.subarray(0, end - start) : ownBytes(end - start);
  let done = 0;
  while (done < out.length) {
    throwIfAborted(options?.signal);
    const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === out.length ? out : out.subarray(0, done);
}

/** `n` uninitialised bytes in an ArrayBuffer of their own (never a slice of Node's shared pool). */
function ownBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function closePack(pack: OpenPack): Promise<void> {
  return pack.ready.then(
    ({ handle }) => handle.close().catch(() => {}),
    () => {},
  );
}
