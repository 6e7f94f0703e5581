/**
 * `verify`: proves a repository restores. Structure (always): key files parse; index segments
 * match their ids and decode; every index entry points into an existing pack at a valid range;
 * every snapshot loads and all its trees and file contents resolve; every pack's bytes match its id
 * (no keys needed for that). With `readData`, every blob of the selected packs is also
 * authenticated, decrypted and re-hashed against its id, and pack headers are compared with the
 * index. Every problem names the damaged object and the snapshots and paths that depend on it.
 *
 * Speed: packs holding trees are checked first; with readData every pack's blobs are opened on
 * worker threads (one per core, at most 4) while the main thread reads and hashes the next packs
 * (two more than there are threads) and, once the tree packs are done, walks the snapshots. Tree
 * blobs met on the way are kept (up to 64 MiB) so the walk does not read them again.
 *
 * Memory stays bounded: index entries live in a private LevelDB built from the segments (not the
 * local cache, which could be stale), at most threads + 2 packs are held (whole only with readData,
 * or when they hold trees), the tree stash has a budget, and consequence paths are capped per
 * problem.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferPool } from '../buffer-pool.js';
import { mapBounded } from '../concurrency.js';
import { readKeyFileInfo } from '../crypto/index.js';
import { CairnError, isCairnError, throwIfAborted } from '../errors.js';
import { BLOB_TYPE_CODES, openBlobTransient } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import { type IndexSegmentView, PACK_SECTION_HEADER_LENGTH } from '../format/index-segment.js';
import { PACK_ENTRY_LENGTH } from '../format/pack-header.js';
import type { Snapshot } from '../format/snapshot.js';
import { decodeContentList, decodeTree, nodeName, type TreeNode } from '../format/tree.js';
import { createBlake3 } from '../hashing/index.js';
import type { BlobLocation } from '../index/blob-location.js';
import { IndexCache, isUnusableCacheDir } from '../index/index-cache.js';
import { type EventHandler, ProgressReporter } from '../progress.js';
import { listKeyIds } from '../repo/keys.js';
import { DATA_PREFIX, INDEX_PREFIX, idFromName, keyName, packName, snapshotName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { listSnapshotIds, loadSnapshot } from '../repo/snapshots.js';
import { WriterPool } from '../restore/writer-pool.js';
import { type PackCheckJob, type PackCheckResult, runPackCheck } from './pack-check.js';
import { type DrillResult, restoreDrill } from './restore-drill.js';
import { type PackSubset, parseSubset, selectPacks } from './subset.js';

export interface VerifyOptions {
  /** Authenticate, decrypt and re-hash every blob of the selected packs. */
  readData?: boolean;
  /** Which packs to read: "P%" (deterministic), "K/N" (deterministic slice), "random:P%". Default all. */
  subset?: string;
  /** Restore this many random files to a temporary folder and check them. */
  restoreDrill?: number;
  /** Snapshots (ids or prefixes) the drill picks from (default: all). */
  drillSnapshots?: string[];
  signal?: AbortSignal;
  onEvent?: EventHandler;
  /** Receives the ids of every damaged or missing blob and tree (used by `repair snapshots`). */
  onDamage?: (blobs: ReadonlySet<string>, trees: ReadonlySet<string>) => void;
}

/** One problem found, with what depends on it. */
export interface VerifyProblem {
  kind: 'key' | 'index' | 'pack' | 'blob' | 'tree' | 'snapshot';
  /** The damaged object (repository name, or "blob <id>"). */
  object: string;
  code: string;
  message: string;
  /** Snapshots that depend on the object. */
  snapshots: string[];
  /** Paths (snapshot prefix:path) that depend on it, at most {@link MAX_PATHS}. */
  paths: string[];
  /** What to do about it. */
  hint?: string;
}

export interface VerifyReport {
  ok: boolean;
  checked: {
    keys: number;
    indexSegments: number;
    indexEntries: number;
    packs: number;
    packsRead: number;
    blobsRead: number;
    bytesRead: number;
    snapshots: number;
    trees: number;
    files: number;
  };
  readData: boolean;
  subset: string;
  /**
   * Packs no index segment lists: left by an interrupted backup, or holding only blobs that are
   * stored in another pack too (two backups that stored the same new data at the same time; the
   * index lists one copy). `repair index` adopts blobs stored nowhere else.
   */
  unindexedPacks: string[];
  problems: VerifyProblem[];
  drill?: DrillResult;
  durationMs: number;
}

const MAX_PATHS = 100;
/** Content ids looked up in the index per call during the snapshot walk. */
const LOOKUP_BATCH = 4096;
/** Directories checked per round of the snapshot walk. */
const TREES_PER_ROUND = 512;
/** Trees decoded between two turns of the event loop during the snapshot walk. */
const YIELD_TREES = 64;

/** Verifies `repo`; never throws for damage (it is in the report), only for cancellation or I/O failure. */
export async function verify(repo: Repository, options: VerifyOptions = {}): Promise<VerifyReport> {
  const signal = options.signal;
  const subset: PackSubset = parseSubset(options.subset);
  const progress = new ProgressReporter('verify', options.onEvent);
  const problems: VerifyProblem[] = [];
  const problem = (p: Omit<VerifyProblem, 'snapshots' | 'paths'>): VerifyProblem => {
    // Errors about an object often start with its name; the problem names it already.
    const message = p.message.startsWith(`${p.object}: `) ? p.message.slice(p.object.length + 2) : p.message;
    const full: VerifyProblem = { ...p, message, snapshots: [], paths: [] };
    problems.push(full);
    progress.error({ path: p.object, code: p.code, message, kind: p.kind });
    return full;
  };
  const checked: VerifyReport['checked'] = {
    keys: 0,
    indexSegments: 0,
    indexEntries: 0,
    packs: 0,
    packsRead: 0,
    blobsRead: 0,
    bytesRead: 0,
    snapshots: 0,
    trees: 0,
    files: 0,
  };
  const lock = await repo.lock({ exclusive: false, operation: 'verify', ...(signal ? { signal } : {}) });
  let cacheDir = join(repo.cacheDir, `verify-${process.pid}-${toHex(randomBytes(4))}`);
  let index: IndexCache;
  try {
    index = await IndexCache.open(cacheDir).catch(async (err: unknown) => {
      if (!isUnusableCacheDir(err)) throw err;
      // The cache folder cannot be written (the index's warning says so): use a temporary one.
      cacheDir = await mkdtemp(join(tmpdir(), 'cairn-verify-'));
      return IndexCache.open(cacheDir);
    });
  } catch (err) {
    await lock.release();
    throw err;
  }
  let stopWalk = async () => {};
  // Started now, so the threads boot while the index is read.
  let pool = options.readData ? new WriterPool(repo.keys, VERIFY_THREADS) : undefined;
  /** Work running beside the pack checks, settled before the private index closes. */
  const background: Promise<unknown>[] = [];
  try {
    // Keys.
    for (const id of await listKeyIds(repo.store, signal)) {
      checked.keys++;
      try {
        readKeyFileInfo(await repo.store.get(keyName(id), { signal }));
      } catch (err) {
        if (isAbort(err)) throw err;
        problem({
          kind: 'key',
          object: keyName(id),
          ...codeOf(err),
          hint: 'this key no longer opens the repository; remove it with "cairn key remove" and add a new one',
        });
      }
    }

    // Index segments → a private index of exactly what the segments say. A concurrent backup may
    // merge its own segments (storing the merged one first, then deleting the parts): a segment that
    // is gone when read and no longer listed was replaced, not lost, so list again and read what is new.
    // Segments are read and checked here, and written into the private index in the background,
    // one after another: those writes (LevelDB) took ~120 ms of a bench verify while the pack
    // checks waited. Whatever asks the private index waits for `indexBuilt`.
    const repoIndex = await repo.index(signal);
    let building: Promise<void> = Promise.resolve();
    let buildingBytes = 0;
    const seen = new Set<string>();
    const treePacks = new Set<string>(); // packs holding tree blobs, as the segments say
    for (let round = 0; round < 4; round++) {
      const listed = new Set<string>();
      for await (const obj of repo.store.list(INDEX_PREFIX, { signal })) {
        const id = idFromName(obj.name, INDEX_PREFIX);
        if (id) listed.add(id);
      }
      const vanished: string[] = [];
      for (const id of listed) {
        if (seen.has(id)) continue;
        throwIfAborted(signal);
        seen.add(id);
        let view: IndexSegmentView;
        try {
          view = await repoIndex.readSegment(id, signal);
          noteTreePacks(view, treePacks);
          checked.indexSegments++;
        } catch (err) {
          if (isAbort(err)) throw err;
          if (isCairnError(err, 'NOT_FOUND') && round < 3) {
            vanished.push(id);
            continue;
          }
          checked.indexSegments++;
          problem({
            kind: 'index',
            object: `${INDEX_PREFIX}${id}`,
            ...codeOf(err),
            hint: 'run "cairn repair index" to rebuild the index from the packs',
          });
          continue;
        }
        // A failure here is local (the private index's disk): it stops the verify, it is not a
        // problem of the repository.
        const bytes = view.payload.length;
        buildingBytes += bytes;
        building = building.then(async () => {
          await index.addSegment(id, view, { byPack: true });
          buildingBytes -= bytes;
        });
        if (buildingBytes > INDEX_BUILD_BYTES) await building; // memory stays bounded
      }
      if (vanished.length === 0) break;
      // Read again any that are still listed (a missing-but-listed segment is a real problem).
      for (const id of vanished) seen.delete(id);
    }

    const indexBuilt = building;
    indexBuilt.catch(() => {}); // awaited by its users; never unhandled meanwhile
    background.push(indexBuilt);

    // Packs and index entries.
    const packSizes = new Map<string, number>();
    for await (const obj of repo.store.list(DATA_PREFIX, { signal })) {
      const id = idFromName(obj.name, DATA_PREFIX);
      if (id) packSizes.set(id, obj.size);
    }
    checked.packs = packSizes.size;
    const badBlobs = new Map<string, VerifyProblem>();
    const stash = new TreeStash(TREE_STASH_BYTES);
    const indexedPacks = new Map<string, number>(); // pack id -> entries
    // Every index entry against the packs' sizes: a walk of the private index, run beside the
    // pack checks (awaited after them).
    const checkLocations = async () => {
      await indexBuilt;
      for await (const loc of index.locations()) {
        throwIfAborted(signal);
        checked.indexEntries++;
        indexedPacks.set(loc.packId, (indexedPacks.get(loc.packId) ?? 0) + 1);
        const size = packSizes.get(loc.packId);
        if (size === undefined || loc.offset + loc.length > size) {
          const blob = toHex(loc.id);
          badBlobs.set(
            blob,
            problem({
              kind: 'blob',
              object: `blob ${blob}`,
              code: size === undefined ? 'NOT_FOUND' : 'CORRUPT_DATA',
              message:
                size === undefined
                  ? `its pack ${loc.packId} is missing`
                  : `its range ends past the end of pack ${loc.packId} (${size} bytes)`,
            }),
          );
        }
      }
    };
    const locationsChecked = checkLocations();
    locationsChecked.catch(() => {}); // awaited below; never unhandled meanwhile
    background.push(locationsChecked);

    // Pack bytes (and, with readData, every blob).
    // Packs holding trees first: once they are checked (and their trees stashed), the snapshot
    // walk runs on the main thread while the data packs are still being checked.
    const selected = selectPacks([...packSizes.keys()].sort(), subset);
    const toRead = [...selected.filter((p) => treePacks.has(p)), ...selected.filter((p) => !treePacks.has(p))];
    let treePacksLeft = toRead.filter((p) => treePacks.has(p)).length;
    progress.filesTotal = toRead.length;
    progress.bytesTotal = toRead.reduce((n, p) => n + packSizes.get(p)!, 0);
    progress.totalsFinal = true;
    progress.start({
      repository: repo.store.location,
      readData: !!options.readData,
      subset: options.subset ?? 'all',
      packs: toRead.length,
    });
    // Snapshots, their trees and their files: started as soon as the tree packs are checked.
    const badTrees = new Map<string, VerifyProblem>();
    const walkAbort = new AbortController();
    const walkSignal = signal ? AbortSignal.any([signal, walkAbort.signal]) : walkAbort.signal;
    const walkSnapshots = async () => {
      await indexBuilt;
      const snapshots: Snapshot[] = [];
      for (const id of await listSnapshotIds(repo, walkSignal)) {
        checked.snapshots++;
        try {
          snapshots.push(await loadSnapshot(repo, id, walkSignal));
        } catch (err) {
          if (isAbort(err)) throw err;
          problem({
            kind: 'snapshot',
            object: snapshotName(id),
            ...codeOf(err),
            hint: 'this snapshot cannot be restored; its data may remain in other snapshots',
          });
        }
      }
      const walker = new TreeChecker(repo, index, stash, checked, badBlobs, badTrees, problem, walkSignal);
      for (const s of snapshots) await walker.check(s.tree);
      return { snapshots, walker };
    };
    let walk: Promise<Awaited<ReturnType<typeof walkSnapshots>>> | undefined;
    const startWalk = () => {
      if (walk || treePacksLeft > 0) return;
      walk = walkSnapshots();
      walk.catch(() => {}); // awaited below; never unhandled meanwhile
    };
    stopWalk = async () => {
      walkAbort.abort();
      await walk?.catch(() => {});
    };
    startWalk();

    // Several packs at once: reads overlap, and with readData the blobs are opened on the worker
    // threads while the main thread reads and hashes the next packs. Damage is reported in pack
    // order once all are checked.
    const ctx: PackCheckContext = {
      repo,
      readData: !!options.readData,
      index,
      indexBuilt,
      checked,
      pool,
      stash,
      signal,
      jobs: 0,
      // Packs reach the pack size plus one blob and a header: one buffer size fits nearly all.
      buffers: new BufferPool(
        (PACKS_IN_FLIGHT + 1) * (repo.config.packSize + PACK_BUFFER_SLACK),
        repo.config.packSize + PACK_BUFFER_SLACK,
      ),
    };
    let damage: PackDamage[][];
    try {
      damage = await mapBounded(
        toRead,
        PACKS_IN_FLIGHT,
        async (packId) => {
          const found = await checkPack(ctx, packId, packSizes.get(packId)!);
          if (treePacks.has(packId)) {
            treePacksLeft--;
            startWalk();
          }
          progress.filesDone++;
          progress.bytesDone += packSizes.get(packId)!;
          progress.tick();
          return found;
        },
        signal,
      );
    } finally {
      await pool?.close();
      pool = undefined;
    }
    await locationsChecked;
    const unindexedPacks = [...packSizes.keys()].filter((p) => !indexedPacks.has(p)).sort();
    treePacksLeft = 0;
    startWalk();
    for (const damaged of damage) {
      for (const d of damaged) {
        const p = problem(d.problem);
        for (const blob of d.blobs) badBlobs.set(blob, p);
      }
    }

    const { snapshots, walker } = await walk!;
    walk = undefined;

    // Consequences: which snapshots and paths depend on each damaged object.
    if (badBlobs.size > 0 || badTrees.size > 0) {
      for (const s of snapshots) await attribute(walker, s, badBlobs, badTrees);
      if (unindexedPacks.length > 0) {
        for (const p of new Set([...badBlobs.values(), ...badTrees.values()])) {
          if (p.code === 'NOT_FOUND')
            p.hint ??= `${unindexedPacks.length} pack(s) are not indexed: "cairn repair index" may recover this data`;
        }
      }
      for (const p of new Set([...badBlobs.values(), ...badTrees.values()])) {
        p.hint ??=
          p.snapshots.length === 0
            ? undefined
            : p.code === 'NOT_FOUND'
              ? 'run "cairn repair snapshots" to write snapshots without the lost data'
              : 'if the source still holds these files: "cairn repair index --read-data", then a "--kind full" backup stores them again and the snapshots can be restored again; otherwise "cairn repair snapshots" writes snapshots without the lost data';
        if (p.hint === undefined) delete p.hint;
      }
    }

    options.onDamage?.(new Set(badBlobs.keys()), new Set(badTrees.keys()));
    let drill: DrillResult | undefined;
    if (options.restoreDrill) {
      drill = await restoreDrill(repo, snapshots, options.restoreDrill, options.drillSnapshots, signal);
      for (const f of drill.files) {
        if (!f.ok) {
          problem({
            kind: 'blob',
            object: `${f.snapshot.slice(0, 8)}:${f.path}`,
            code: f.code ?? 'CORRUPT_DATA',
            message: `restore drill failed: ${f.message}`,
          });
        }
      }
    }

    const report: VerifyReport = {
      ok: problems.length === 0,
      checked,
      readData: !!options.readData,
      subset: options.subset ?? 'all',
      unindexedPacks,
      problems,
      ...(drill ? { drill } : {}),
      durationMs: Date.now() - progress.started,
    };
    progress.tick(true);
    progress.summary({ ...report });
    return report;
  } finally {
    await stopWalk();
    await pool?.close();
    await Promise.allSettled(background);
    await index.close();
    await rm(cacheDir, { recursive: true, force: true });
    await lock.release();
  }
}

interface PackDamage {
  problem: Omit<VerifyProblem, 'snapshots' | 'paths'>;
  blobs: string[];
}

/** Adds to `out` the packs of `view` that hold at least one tree blob (type code 1). */
function noteTreePacks(view: IndexSegmentView, out: Set<string>): void {
  const p = view.payload;
  for (let i = 0; i < view.packCount; i++) {
    const first = view.sectionOffset(i) + PACK_SECTION_HEADER_LENGTH;
    for (let j = 0, n = view.packEntryCount(i); j < n; j++) {
      if (p[first + j * PACK_ENTRY_LENGTH] === BLOB_TYPE_CODES.tree) {
        out.add(toHex(view.packId(i)));
        break;
      }
    }
  }
}

/** Segment bytes read and waiting to be written into the private index, at most. */
const INDEX_BUILD_BYTES = 64 * 1024 * 1024;
/** Range reads of at most this size while checking packs. */
const READ_PIECE = 16 * 1024 * 1024;
/** Largest pack read in one piece when its bytes are kept. */
const MAX_WHOLE_READ = 256 * 1024 * 1024;
/**
 * Threads opening blobs with readData: one per core (the main thread mostly waits on reads), at
 * most 4 (each costs ~60 MiB).
 */
const VERIFY_THREADS = Math.min(4, availableParallelism());
/** Packs being read or checked at once (each held whole with readData: bounded by pack size). */
const PACKS_IN_FLIGHT = VERIFY_THREADS + 2;
/** Room beyond the pack size in verify's read buffers: the last blob (a chunk) and the header. */
const PACK_BUFFER_SLACK = 8 * 1024 * 1024;
/** Raw tree bytes kept from the pack checks for the snapshot walk. */
const TREE_STASH_BYTES = 64 * 1024 * 1024;

/**
 * Tree blobs already authenticated while checking their packs, keyed by where they were found, so
 * the snapshot walk does not read them again (it still resolves every tree through the index).
 */
class TreeStash {
  private readonly raw = new Map<string, Uint8Array>();
  private bytes = 0;
  constructor(private readonly budget: number) {}
  static key(id: string, packId: string, offset: number, length: number): string {
    return `${id}:${packId}:${offset}:${length}`;
  }
  get room(): number {
    return this.budget - this.bytes;
  }
  add(key: string, raw: Uint8Array): void {
    if (this.raw.has(key) || raw.length > this.room) return;
    this.raw.set(key, raw);
    this.bytes += raw.length;
  }
  get(key: string): Uint8Array | undefined {
    return this.raw.get(key);
  }
}

interface PackCheckContext {
  repo: Repository;
  readData: boolean;
  index: IndexCache;
  /** Settles once every segment is in `index`. */
  indexBuilt: Promise<void>;
  checked: VerifyReport['checked'];
  pool: WriterPool | undefined;
  stash: TreeStash;
  signal: AbortSignal | undefined;
  /** Job numbers handed to the pool. */
  jobs: number;
  /** Buffers whole packs are read into for the pool's threads, lent to them and reused. */
  buffers: BufferPool;
}

/** Checks one pack: its bytes against its id, and with `readData` its header and every blob. */
async function checkPack(ctx: PackCheckContext, packId: string, size: number): Promise<PackDamage[]> {
  const { repo, checked, stash, signal } = ctx;
  const name = packName(packId);
  // What the index says the pack holds. With readData the pack is read and checked first (the
  // private index may still be being built); a structure check needs the tree entries first.
  let indexed: BlobLocation[] | undefined;
  const listed = async (): Promise<BlobLocation[]> => {
    if (indexed) return indexed;
    await ctx.indexBuilt;
    const out: BlobLocation[] = [];
    for await (const loc of ctx.index.packEntries(packId)) out.push(loc);
    indexed = out;
    return out;
  };
  const all = async () => (await listed()).map((l) => toHex(l.id));
  // The bytes are kept for readData, and for the tree blobs the snapshot walk will need.
  const trees = !ctx.readData && stash.room > 0 ? (await listed()).filter((l) => l.type === 'tree') : [];
  const keep = ctx.readData || trees.length > 0;
  const hasher = createBlake3();
  const pieces: Uint8Array[] = [];
  // Kept packs are read in one piece (no copy to join them) unless huge.
  const whole = keep && size <= MAX_WHOLE_READ;
  const piece = whole ? Math.max(size, 1) : READ_PIECE;
  // A pack read whole for readData is hashed by the thread that opens its blobs.
  const hashHere = !(whole && ctx.readData && ctx.pool);
  // ... and read into a buffer lent to that thread and reused for a later pack.
  const into = hashHere ? undefined : ctx.buffers.take(size);
  try {
    for (let off = 0; off < size; off += piece) {
      const got = await repo.store.get(name, {
        offset: off,
        length: Math.min(piece, size - off),
        signal,
        ...(into ? { into } : {}),
      });
      if (hashHere) hasher.update(got);
      checked.bytesRead += got.length;
      if (keep) pieces.push(got);
      if (got.length === 0) break;
    }
  } catch (err) {
    if (isAbort(err)) throw err;
    return [{ problem: { kind: 'pack', object: name, ...codeOf(err) }, blobs: await all() }];
  }
  checked.packsRead++;
  const badId = hashHere && toHex(hasher.digest()) !== packId;
  if (badId && !ctx.readData) {
    // Rare: read it whole again and open every blob, to tell the lost blobs from the intact ones.
    pieces.length = 0;
    let whole: Uint8Array;
    try {
      whole = await repo.store.get(name, { signal });
    } catch (err) {
      if (isAbort(err)) throw err;
      return [{ problem: { kind: 'pack', object: name, ...codeOf(err) }, blobs: await all() }];
    }
    return packDamage(runPackCheck(repo.keys, { kind: 'check-pack', n: -1, buf: whole, keepTreeBytes: 0 }), true);
  }
  if (!keep) return [];
  const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  pieces.length = 0;
  if (!ctx.readData) {
    // Structure only: open just the trees (a fraction of a pack; a tree pack holds nothing else).
    for (const l of trees) {
      try {
        const raw = openBlobTransient(repo.keys, l, bytes.subarray(l.offset, l.offset + l.length));
        stash.add(TreeStash.key(toHex(l.id), packId, l.offset, l.length), new Uint8Array(raw));
      } catch {
        // The walk reads it again and reports the precise error.
      }
    }
    return [];
  }
  throwIfAborted(signal);
  const job: PackCheckJob = {
    kind: 'check-pack',
    n: ctx.jobs++,
    buf: bytes,
    keepTreeBytes: stash.room,
    ...(hashHere ? {} : { packId }),
  };
  const lent = into !== undefined && bytes.buffer === into.buffer;
  const r = ctx.pool
    ? await ctx.pool.run(job, size, lent ? (b) => ctx.buffers.give(b) : undefined)
    : runPackCheck(repo.keys, job);
  checked.blobsRead += r.headerError ? 0 : r.blobsRead;
  for (const t of r.trees) {
    const [id, offset, length] = t.key.split(':');
    stash.add(TreeStash.key(id!, packId, Number(offset), Number(length)), t.raw);
  }
  return packDamage(r, badId || !!r.idMismatch);

  /**
   * The damage a pack check found: each blob that failed; blobs the index places in the pack but
   * its header does not list; and, when the bytes do not match the pack's id, the pack itself,
   * naming only the blobs that failed (the others opened and matched their ids, so they are intact).
   */
  async function packDamage(r: PackCheckResult, idMismatch: boolean): Promise<PackDamage[]> {
    if (r.headerError) return [{ problem: { kind: 'pack', object: name, ...r.headerError }, blobs: await all() }];
    // A damaged copy the index does not place here (left out by `repair index --read-data`) is
    // read by no restore: it is reported, but blames no file.
    const used = r.blobErrors.length > 0 ? new Set((await listed()).map((l) => toHex(l.id))) : undefined;
    const damage: PackDamage[] = r.blobErrors.map((e) =>
      used?.has(e.id)
        ? {
            problem: { kind: 'blob', object: `blob ${e.id}`, code: e.code, message: `in pack ${packId}: ${e.message}` },
            blobs: [e.id],
          }
        : {
            problem: {
              kind: 'blob',
              object: `blob ${e.id}`,
              code: e.code,
              message: `in pack ${packId}: ${e.message} (a copy the index does not use: no snapshot reads it)`,
            },
            blobs: [],
          },
    );
    const inHeader = new Set(r.inHeader);
    for (const l of await listed()) {
      if (!inHeader.has(`${toHex(l.id)}:${l.offset}:${l.length}`)) {
        const id = toHex(l.id);
        damage.push({
          problem: {
            kind: 'blob',
            object: `blob ${id}`,
            code: 'CORRUPT_DATA',
            message: `the index places it in pack ${packId}, whose header does not list it there`,
          },
          blobs: [id],
        });
      }
    }
    if (idMismatch) {
      // The lost blobs are problems of their own (above); the pack's problem blames no file.
      damage.unshift({
        problem: {
          kind: 'pack',
          object: name,
          code: 'CORRUPT_DATA',
          message: `the pack's bytes do not match its id (damaged or truncated); ${r.blobErrors.length} of its ${r.inHeader.length} blob(s) failed to open, the others are intact`,
        },
        blobs: [],
      });
    }
    return damage;
  }
}

/** Walks trees once each, checking that every tree and content blob resolves. */
class TreeChecker {
  private readonly seen = new Set<string>();
  /** Index locations looked up ahead (a directory's subtrees and content lists), until read. */
  private readonly locs = new Map<string, BlobLocation | null>();

  constructor(
    private readonly repo: Repository,
    private readonly index: IndexCache,
    private readonly stash: TreeStash,
    private readonly checked: VerifyReport['checked'],
    private readonly badBlobs: Map<string, VerifyProblem>,
    readonly badTrees: Map<string, VerifyProblem>,
    private readonly problem: (p: Omit<VerifyProblem, 'snapshots' | 'paths'>) => VerifyProblem,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /**
   * A blob's raw bytes through the private index (from the trees stashed by the pack checks when
   * the index points where one was found); throws NOT_FOUND / AUTH_FAILED / CORRUPT_DATA.
   */
  async read(idHex: string): Promise<Uint8Array> {
    let loc = this.locs.get(idHex);
    if (loc === undefined) [loc] = await this.index.getMany([Buffer.from(idHex, 'hex')]);
    else this.locs.delete(idHex);
    if (!loc) throw new CairnError('NOT_FOUND', 'not in the index');
    return (
      this.stash.get(TreeStash.key(idHex, loc.packId, loc.offset, loc.length)) ?? this.repo.readBlobAt(loc, this.signal)
    );
  }

  /** Looks up many tree ids in one batch for {@link read}. */
  private async prefetch(ids: readonly string[]): Promise<void> {
    const want = [...new Set(ids)].filter((id) => !this.locs.has(id));
    if (want.length === 0) return;
    const found = await this.index.getMany(want.map((id) => Buffer.from(id, 'hex')));
    want.forEach((id, i) => {
      this.locs.set(id, found[i] ?? null);
    });
  }

  /** Tree nodes of a directory (following continuations); undefined when the tree is damaged. */
  async nodes(treeId: string): Promise<TreeNode[] | undefined> {
    if (this.badTrees.has(treeId)) return undefined;
    const out: TreeNode[] = [];
    let next: string | undefined = treeId;
    try {
      while (next) {
        const tree = decodeTree(await this.read(next));
        out.push(...tree.nodes);
        next = tree.next;
      }
      return out;
    } catch (err) {
      if (isAbort(err)) throw err;
      this.badTrees.set(treeId, this.problem({ kind: 'tree', object: `tree ${treeId}`, ...codeOf(err) }));
      return undefined;
    }
  }

  /** Content ids of a file node (reading content lists); undefined when a list is damaged. */
  async content(node: TreeNode): Promise<string[] | undefined> {
    if (node.content) return node.content;
    const ids: string[] = [];
    for (const list of node.contentLists ?? []) {
      if (this.badTrees.has(list)) return undefined;
      try {
        ids.push(...decodeContentList(await this.read(list)));
      } catch (err) {
        if (isAbort(err)) throw err;
        this.badTrees.set(list, this.problem({ kind: 'tree', object: `content list ${list}`, ...codeOf(err) }));
        return undefined;
      }
    }
    return ids;
  }

  /**
   * Checks a tree and everything under it, level by level, a few hundred directories at a time so
   * the index is asked in large batches (one LevelDB call per batch, not per directory).
   */
  async check(rootId: string): Promise<void> {
    if (this.seen.has(rootId)) return;
    this.seen.add(rootId);
    let level = [rootId];
    while (level.length > 0) {
      const next: string[] = [];
      for (let at = 0; at < level.length; at += TREES_PER_ROUND) {
        throwIfAborted(this.signal);
        const trees = level.slice(at, at + TREES_PER_ROUND);
        await this.prefetch(trees);
        const files: TreeNode[] = [];
        for (let t = 0; t < trees.length; t++) {
          const id = trees[t]!;
          // Stashed trees are read without any I/O: let the pack checks' reads and hand-overs in
          // every few dozen trees, so the threads checking packs are not kept waiting.
          if (t % YIELD_TREES === YIELD_TREES - 1) await new Promise((resolve) => setImmediate(resolve));
          const nodes = await this.nodes(id);
          if (!nodes) continue;
          this.checked.trees++;
          for (const n of nodes) {
            if (n.type === 'dir' && n.subtree && !this.seen.has(n.subtree)) {
              this.seen.add(n.subtree);
              next.push(n.subtree);
            } else if (n.type === 'file') files.push(n);
          }
        }
        this.checked.files += files.length;
        await this.prefetch(files.flatMap((f) => f.contentLists ?? []));
        const ids = new Set<string>();
        for (const f of files) {
          for (const id of (await this.content(f)) ?? []) if (!this.badBlobs.has(id)) ids.add(id);
        }
        await this.requirePresent([...ids]);
      }
      level = next;
    }
  }

  /** Records a NOT_FOUND problem for every id the index does not list. */
  private async requirePresent(ids: readonly string[]): Promise<void> {
    for (let at = 0; at < ids.length; at += LOOKUP_BATCH) {
      const part = ids.slice(at, at + LOOKUP_BATCH);
      const found = await this.index.getMany(part.map((id) => Buffer.from(id, 'hex')));
      found.forEach((loc, i) => {
        if (loc) return;
        const id = part[i]!;
        this.badBlobs.set(
          id,
          this.problem({
            kind: 'blob',
            object: `blob ${id}`,
            code: 'NOT_FOUND',
            message: 'a file needs it but no index segment lists it',
          }),
        );
      });
    }
  }
}

/** Records, on each problem, the snapshot and paths that depend on the damaged objects. */
async function attribute(
  walker: TreeChecker,
  snapshot: Snapshot,
  badBlobs: Map<string, VerifyProblem>,
  badTrees: Map<string, VerifyProblem>,
): Promise<void> {
  const short = snapshot.id.slice(0, 8);
  const note = (p: VerifyProblem, path: string) => {
    if (!p.snapshots.includes(snapshot.id)) p.snapshots.push(snapshot.id);
    if (p.paths.length < MAX_PATHS) p.paths.push(`${short}:${path || '/'}`);
  };
  const visit = async (treeId: string, prefix: string): Promise<void> => {
    const bad = badTrees.get(treeId);
    if (bad) {
      note(bad, prefix);
      return;
    }
    const nodes = await walker.nodes(treeId);
    if (!nodes) return;
    for (const n of nodes) {
      const path = `${prefix}/${nodeName(n)}`;
      if (n.type === 'dir' && n.subtree) await visit(n.subtree, path);
      else if (n.type === 'file') {
        const hit = new Set<VerifyProblem>(); // one path per problem, however many blobs it hits
        for (const list of n.contentLists ?? []) {
          const p = badTrees.get(list);
          if (p) hit.add(p);
        }
        for (const id of (await walker.content(n)) ?? []) {
          const p = badBlobs.get(id);
          if (p) hit.add(p);
        }
        for (const p of hit) note(p, path);
      }
    }
  };
  await visit(snapshot.tree, '');
}

function isAbort(err: unknown): boolean {
  return (err as CairnError)?.code === 'ABORTED';
}

function codeOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { code: typeof e?.code === 'string' ? e.code : 'IO_ERROR', message: e?.message ?? String(err) };
}
