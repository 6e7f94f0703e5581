/**
 * Repository locks (`locks/<id>`): backups take shared locks, maintenance takes an exclusive one.
 * A lock records host, pid, user and time and is refreshed by writing a new lock object and
 * deleting the old one (objects are never modified). A lock is stale when its process is known to
 * be dead (same host, pid gone) or when it has not been refreshed for {@link STALE_LOCK_MS}; stale
 * locks do not block anyone and `removeStaleLocks` deletes them.
 *
 * On media that cannot delete (tape), locks are not written: such repositories have one writer.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { CairnError, throwIfAborted } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { openJson, sealJson } from '../format/sealed-object.js';
import type { Store } from '../store/store.js';
import { idFromName, LOCKS_PREFIX, lockName } from './names.js';

/** A lock as stored. */
export interface LockInfo {
  v: 1;
  exclusive: boolean;
  host: string;
  pid: number;
  user: string;
  /** ISO time the lock was written (refreshed locks get a new time). */
  time: string;
  /** What holds it (e.g. "backup", "prune"). */
  operation: string;
}

/** A lock found in the repository. */
export interface FoundLock {
  id: string;
  /** Undefined when the lock object could not be read (damaged or foreign). */
  info?: LockInfo;
  stale: boolean;
}

/** Age after which an unrefreshed lock is stale. */
export const STALE_LOCK_MS = 30 * 60_000;
/** How often a held lock is refreshed. */
export const LOCK_REFRESH_MS = 5 * 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function validLock(i: unknown): i is LockInfo {
  const l = i as Partial<LockInfo> | null;
  return (
    typeof l === 'object' &&
    l !== null &&
    typeof l.time === 'string' &&
    !Number.isNaN(Date.parse(l.time)) &&
    typeof l.exclusive === 'boolean' &&
    typeof l.host === 'string' &&
    typeof l.user === 'string' &&
    typeof l.operation === 'string' &&
    Number.isSafeInteger(l.pid)
  );
}

/** True when a lock no longer protects anything. */
export function isStale(info: LockInfo, now = Date.now()): boolean {
  if (now - Date.parse(info.time) > STALE_LOCK_MS) return true;
  return info.host === hostname() && !processAlive(info.pid);
}

function describe(l: FoundLock): string {
  if (!l.info) return `an unreadable lock ${l.id.slice(0, 8)}`;
  const i = l.info;
  return `${i.exclusive ? 'an exclusive' : 'a shared'} lock by ${i.user}@${i.host} pid ${i.pid} (${i.operation}) since ${i.time}`;
}

/** Lists every lock in the repository with its staleness. */
export async function listLocks(store: Store, dataKey: Uint8Array, signal?: AbortSignal): Promise<FoundLock[]> {
  const out: FoundLock[] = [];
  for await (const obj of store.list(LOCKS_PREFIX, { signal })) {
    const id = idFromName(obj.name, LOCKS_PREFIX);
    if (!id) continue;
    try {
      const info = openJson(dataKey, 'lock', await store.get(obj.name, { signal }), obj.name) as LockInfo;
      if (!validLock(info)) throw new Error('bad lock');
      out.push({ id, info, stale: isStale(info) });
    } catch (err) {
      if ((err as CairnError).code === 'NOT_FOUND') continue; // released meanwhile
      if ((err as CairnError).code === 'ABORTED') throw err;
      out.push({ id, stale: false });
    }
  }
  return out;
}

/** A held lock. `release` is idempotent. */
export class RepositoryLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly dataKey: Uint8Array,
    private info: LockInfo,
    private id: string | undefined,
  ) {
    if (id) {
      this.timer = setInterval(() => {
        this.refreshing = this.refresh().catch(() => {});
      }, LOCK_REFRESH_MS);
      this.timer.unref();
    }
  }

  get exclusive(): boolean {
    return this.info.exclusive;
  }

  /** Writes a fresh lock object and removes the previous one. */
  async refresh(): Promise<void> {
    if (this.released || !this.id) return;
    const info: LockInfo = { ...this.info, time: new Date().toISOString() };
    const newId = await writeLock(this.store, this.dataKey, info);
    const old = this.id;
    this.id = newId;
    this.info = info;
    await this.store.delete(lockName(old)).catch(() => {});
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    if (this.id) await this.store.delete(lockName(this.id)).catch(() => {});
  }
}

async function writeLock(store: Store, dataKey: Uint8Array, info: LockInfo, signal?: AbortSignal): Promise<string> {
  const id = toHex(randomBytes(32));
  await store.put(lockName(id), sealJson(dataKey, 'lock', info), { signal });
  return id;
}

function conflicts(wantExclusive: boolean, other: FoundLock): boolean {
  if (other.stale) return false;
  return wantExclusive || !other.info || other.info.exclusive;
}

/**
 * Takes a shared or exclusive lock. Throws LOCKED naming the holder when a live lock conflicts.
 * Races are resolved by writing first and checking after: of two conflicting writers, both back off.
 */
export async function acquireLock(
  store: Store,
  dataKey: Uint8Array,
  options: { exclusive: boolean; operation: string; signal?: AbortSignal },
): Promise<RepositoryLock> {
  throwIfAborted(options.signal);
  const info: LockInfo = {
    v: 1,
    exclusive: options.exclusive,
    host: hostname(),
    pid: process.pid,
    user: safeUser(),
    time: new Date().toISOString(),
    operation: options.operation,
  };
  if (!store.capabilities.deletes) return new RepositoryLock(store, dataKey, info, undefined);
  const check = async (ownId?: string) => {
    const held = (await listLocks(store, dataKey, options.signal)).filter((l) => l.id !== ownId);
    const blocking = held.find((l) => conflicts(options.exclusive, l));
    if (blocking) {
      if (ownId) await store.delete(lockName(ownId)).catch(() => {});
      throw new CairnError(
        'LOCKED',
        `repository is locked: ${describe(blocking)}. If that process is gone, run "cairn unlock" to remove stale locks`,
        { details: { lockId: blocking.id, ...(blocking.info ?? {}) } },
      );
    }
  };
  await check();
  const id = await writeLock(store, dataKey, info, options.signal);
  await check(id);
  return new RepositoryLock(store, dataKey, info, id);
}

/** Deletes stale locks (or every lock with `all`). Returns the removed locks. */
export async function removeLocks(
  store: Store,
  dataKey: Uint8Array,
  options: { all?: boolean; signal?: AbortSignal } = {},
): Promise<FoundLock[]> {
  const removed: FoundLock[] = [];
  for (const l of await listLocks(store, dataKey, options.signal)) {
    if (options.all || l.stale) {
      await store.delete(lockName(l.id), { signal: options.signal });
      removed.push(l);
    }
  }
  return removed;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
