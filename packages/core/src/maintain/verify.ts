/**
 * `verify`: proves a repository restores. Structure (always): key files parse; index segments
 * match their ids and decode; every index entry points into an existing pack at a valid range;
 * every snapshot loads and all its trees and file contents resolve; every pack's bytes match its id
 * (no keys needed for that). With `readData`, every blob of the selected packs is also
 * authenticated, decrypted and re-hashed against its id, and pack headers are compared with the
 * index. Every problem names the damaged object and the snapshots and paths that depend on it.
 *
 * Memory stays bounded: index entries live in a private LevelDB built from the segments (not the
 * local cache, which could be stale), packs are read one range at a time, and consequence paths
 * are capped per problem.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readKeyFileInfo } from '../crypto/index.js';
import { CairnError, isCairnError, throwIfAborted } from '../errors.js';
import { openBlob } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import type { PackEntry } from '../format/pack-header.js';
import { parsePackHeader } from '../format/pack-reader.js';
import type { Snapshot } from '../format/snapshot.js';
import { decodeContentList, decodeTree, type TreeNode } from '../format/tree.js';
import { createBlake3 } from '../hashing/index.js';
import type { BlobLocation } from '../index/blob-location.js';
import { IndexCache } from '../index/index-cache.js';
import { type EventHandler, ProgressReporter } from '../progress.js';
import { listKeyIds } from '../repo/keys.js';
import { DATA_PREFIX, INDEX_PREFIX, idFromName, keyName, packName, snapshotName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { listSnapshotIds, loadSnapshot } from '../repo/snapshots.js';
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
  /** Packs no index segment lists (left by interrupted backups; `repair index` adopts them). */
  unindexedPacks: string[];
  problems: VerifyProblem[];
  drill?: DrillResult;
  durationMs: number;
}

const MAX_PATHS = 100;

/** Verifies `repo`; never throws for damage (it is in the report), only for cancellation or I/O failure. */
export async function verify(repo: Repository, options: VerifyOptions = {}): Promise<VerifyReport> {
  const signal = options.signal;
  const subset: PackSubset = parseSubset(options.subset);
  const progress = new ProgressReporter('verify', options.onEvent);
  const problems: VerifyProblem[] = [];
  const problem = (p: Omit<VerifyProblem, 'snapshots' | 'paths'>): VerifyProblem => {
    const full: VerifyProblem = { ...p, snapshots: [], paths: [] };
    problems.push(full);
    progress.error({ path: p.object, code: p.code, message: p.message, kind: p.kind });
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
  const cacheDir = join(repo.cacheDir, `verify-${process.pid}-${toHex(randomBytes(4))}`);
  const index = await IndexCache.open(cacheDir);
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
    const repoIndex = await repo.index(signal);
    const seen = new Set<string>();
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
        try {
          await index.addSegment(id, await repoIndex.readSegment(id, signal), { byPack: true });
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
        }
      }
      if (vanished.length === 0) break;
      // Read again any that are still listed (a missing-but-listed segment is a real problem).
      for (const id of vanished) seen.delete(id);
    }

    // Packs and index entries.
    const packSizes = new Map<string, number>();
    for await (const obj of repo.store.list(DATA_PREFIX, { signal })) {
      const id = idFromName(obj.name, DATA_PREFIX);
      if (id) packSizes.set(id, obj.size);
    }
    checked.packs = packSizes.size;
    const badBlobs = new Map<string, VerifyProblem>();
    const indexedPacks = new Map<string, number>(); // pack id -> entries
    for await (const loc of index.locations()) {
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
    const unindexedPacks = [...packSizes.keys()].filter((p) => !indexedPacks.has(p)).sort();

    // Pack bytes (and, with readData, every blob).
    const toRead = selectPacks([...packSizes.keys()].sort(), subset);
    progress.filesTotal = toRead.length;
    progress.bytesTotal = toRead.reduce((n, p) => n + packSizes.get(p)!, 0);
    progress.totalsFinal = true;
    progress.start({
      repository: repo.store.location,
      readData: !!options.readData,
      subset: options.subset ?? 'all',
      packs: toRead.length,
    });
    for (const packId of toRead) {
      throwIfAborted(signal);
      const damaged = await checkPack(repo, packId, packSizes.get(packId)!, !!options.readData, index, checked, signal);
      for (const d of damaged) {
        const p = problem(d.problem);
        for (const blob of d.blobs) badBlobs.set(blob, p);
      }
      progress.filesDone++;
      progress.bytesDone += packSizes.get(packId)!;
      progress.tick();
    }

    // Snapshots, their trees and their files.
    const snapshots: Snapshot[] = [];
    for (const id of await listSnapshotIds(repo, signal)) {
      checked.snapshots++;
      try {
        snapshots.push(await loadSnapshot(repo, id, signal));
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
    const badTrees = new Map<string, VerifyProblem>();
    const walker = new TreeChecker(repo, index, checked, badBlobs, badTrees, problem, signal);
    for (const s of snapshots) await walker.check(s.tree);

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
          p.snapshots.length > 0 ? 'run "cairn repair snapshots" to write snapshots without the lost data' : undefined;
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
    await index.close();
    await rm(cacheDir, { recursive: true, force: true });
    await lock.release();
  }
}

interface PackDamage {
  problem: Omit<VerifyProblem, 'snapshots' | 'paths'>;
  blobs: string[];
}

/** Range reads of at most this size while checking packs. */
const READ_PIECE = 16 * 1024 * 1024;

/** Checks one pack: its bytes against its id, and with `readData` its header and every blob. */
async function checkPack(
  repo: Repository,
  packId: string,
  size: number,
  readData: boolean,
  index: IndexCache,
  checked: VerifyReport['checked'],
  signal: AbortSignal | undefined,
): Promise<PackDamage[]> {
  const name = packName(packId);
  const indexed: BlobLocation[] = [];
  for await (const loc of index.packEntries(packId)) indexed.push(loc);
  const all = () => indexed.map((l) => toHex(l.id));
  const hasher = createBlake3();
  const pieces: Uint8Array[] = [];
  try {
    for (let off = 0; off < size; off += READ_PIECE) {
      const piece = await repo.store.get(name, { offset: off, length: Math.min(READ_PIECE, size - off), signal });
      hasher.update(piece);
      checked.bytesRead += piece.length;
      if (readData) pieces.push(piece);
      if (piece.length === 0) break;
    }
  } catch (err) {
    if (isAbort(err)) throw err;
    return [{ problem: { kind: 'pack', object: name, ...codeOf(err) }, blobs: all() }];
  }
  checked.packsRead++;
  if (toHex(hasher.digest()) !== packId) {
    return [
      {
        problem: {
          kind: 'pack',
          object: name,
          code: 'CORRUPT_DATA',
          message: "the pack's bytes do not match its id (damaged or truncated)",
        },
        blobs: all(),
      },
    ];
  }
  if (!readData) return [];
  const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  let entries: PackEntry[];
  try {
    entries = parsePackHeader(repo.keys.dataKey, bytes);
  } catch (err) {
    return [{ problem: { kind: 'pack', object: name, ...codeOf(err) }, blobs: all() }];
  }
  const damage: PackDamage[] = [];
  const inHeader = new Set<string>();
  for (const e of entries) {
    throwIfAborted(signal);
    const id = toHex(e.id);
    inHeader.add(`${id}:${e.offset}:${e.length}`);
    try {
      openBlob(repo.keys, e, bytes.subarray(e.offset, e.offset + e.length));
      checked.blobsRead++;
    } catch (err) {
      damage.push({
        problem: {
          kind: 'blob',
          object: `blob ${id}`,
          ...codeOf(err),
          message: `in pack ${packId}: ${(err as Error).message}`,
        },
        blobs: [id],
      });
    }
  }
  for (const l of indexed) {
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
  return damage;
}

/** Walks trees once each, checking that every tree and content blob resolves. */
class TreeChecker {
  private readonly seen = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly index: IndexCache,
    private readonly checked: VerifyReport['checked'],
    private readonly badBlobs: Map<string, VerifyProblem>,
    readonly badTrees: Map<string, VerifyProblem>,
    private readonly problem: (p: Omit<VerifyProblem, 'snapshots' | 'paths'>) => VerifyProblem,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** A blob's raw bytes through the private index; throws NOT_FOUND / AUTH_FAILED / CORRUPT_DATA. */
  async read(idHex: string): Promise<Uint8Array> {
    const [loc] = await this.index.getMany([Buffer.from(idHex, 'hex')]);
    if (!loc) throw new CairnError('NOT_FOUND', 'not in the index');
    return this.repo.readBlobAt(loc, this.signal);
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

  async check(treeId: string): Promise<void> {
    if (this.seen.has(treeId)) return;
    this.seen.add(treeId);
    throwIfAborted(this.signal);
    const nodes = await this.nodes(treeId);
    if (!nodes) return;
    this.checked.trees++;
    for (const n of nodes) {
      if (n.type === 'dir' && n.subtree) await this.check(n.subtree);
      if (n.type !== 'file') continue;
      this.checked.files++;
      const ids = await this.content(n);
      if (!ids) continue;
      const unknown = ids.filter((id) => !this.badBlobs.has(id));
      const found = await this.index.getMany(unknown.map((id) => Buffer.from(id, 'hex')));
      found.forEach((loc, i) => {
        if (loc) return;
        const id = unknown[i]!;
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
      const path = `${prefix}/${Buffer.from(n.name).toString('utf8')}`;
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
