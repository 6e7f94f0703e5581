/**
 * Walks the source paths and builds the snapshot's trees bottom-up, comparing each directory with
 * the same directory in the parent snapshot. Unchanged files (same size, mtime, ctime and inode,
 * and all their blobs still indexed) reuse the parent's content list without being read; other
 * files go to the content pool. Paths are handled as raw bytes throughout, so names that are not
 * UTF-8 are kept exactly.
 *
 * The layout follows restic: the absolute source paths are recreated under the root tree, with the
 * intermediate directories' real metadata.
 *
 * With directory records (dir-records.ts), a directory whose entries are as the parent snapshot's
 * run recorded them is walked without loading its parent tree.
 */
import type { BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { CairnError, throwIfAborted } from '../errors.js';
import { BLOB_ID_LENGTH } from '../format/blob.js';
import { bytesEqual, bytesKey, fromHexMany } from '../format/bytes.js';
import type { BackupKind, SnapshotError } from '../format/snapshot.js';
import { encodeContentList, MAX_INLINE_CONTENT, type TreeNode } from '../format/tree.js';
import { nodeFromStat } from '../fsmeta/node-from-stat.js';
import type { BlobLocation } from '../index/blob-location.js';
import type { ProgressReporter } from '../progress.js';
import type { RepoIndex } from '../repo/repo-index.js';
import type { Repository } from '../repo/repository.js';
import type { ContentPool } from './content-pool.js';
import type { ContentResult } from './content-processor.js';
import type { DirRecord, DirRecords } from './dir-records.js';
import type { ExcludeMatcher } from './excludes.js';
import { MetadataReader, type StatResult } from './metadata-reader.js';
import type { Packer } from './packer.js';
import { isExcluded, joinRawPath, rawPathText } from './raw-path.js';
import { Semaphore } from './semaphore.js';

/** Counters the walk fills in. */
export interface WalkStats {
  filesNew: number;
  filesChanged: number;
  filesUnchanged: number;
  dirs: number;
  bytesRead: number;
  totalBytes: number;
}

export interface TreeBuilderOptions {
  repo: Repository;
  index: RepoIndex;
  packer: Packer;
  pool: ContentPool;
  kind: BackupKind;
  exclude: ExcludeMatcher;
  oneFileSystem: boolean;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /** Files being processed at once, at most (bounds memory for huge directories). */
  maxFilesInFlight?: number;
  /** Directory records: this run's are written, the parent's used (see dir-records.ts). */
  records?: DirRecords;
}

/** Directories walked concurrently at most (beyond that, subdirectories are walked in turn). */
const MAX_ACTIVE_DIRS = 16;
const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]));
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a === b || (a !== undefined && b !== undefined && Buffer.compare(a, b) === 0);

/** True when two nodes would encode identically (so a directory of them has the same tree id). */
function sameNode(a: TreeNode, b: TreeNode | undefined): boolean {
  return (
    b !== undefined &&
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.user === b.user &&
    a.group === b.group &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.inode === b.inode &&
    a.device === b.device &&
    a.links === b.links &&
    a.size === b.size &&
    a.subtree === b.subtree &&
    a.rdev === b.rdev &&
    sameList(a.content, b.content) &&
    sameList(a.contentLists, b.contentLists) &&
    sameBytes(a.name, b.name) &&
    sameBytes(a.target, b.target)
  );
}

function sameContent(a: TreeNode | undefined, b: TreeNode): boolean {
  if (a?.type !== 'file') return false;
  const x = a.content ?? a.contentLists ?? [];
  const y = b.content ?? b.contentLists ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** An entry of a directory being walked: its name and full path, as raw bytes. */
interface DirEntry {
  name: Buffer;
  full: Buffer;
}

/**
 * The entries of a listing that are not excluded. Always an array of objects to V8, even when
 * empty: `map`/`filter` return a small-integer array for an empty listing, and the first empty
 * directory after the walk was optimized sent it back to the interpreter (a recompilation of
 * the walk's largest function, ~20 ms).
 */
function listEntries(dir: Buffer, names: readonly Buffer[], exclude: ExcludeMatcher): DirEntry[] {
  const entries: DirEntry[] = [EMPTY_ENTRY];
  entries.length = 0;
  for (const name of names) {
    const full = joinRawPath(dir, name);
    if (!isExcluded(exclude, full, name)) entries.push({ name, full });
  }
  return entries;
}
const EMPTY_ENTRY: DirEntry = { name: Buffer.alloc(0), full: Buffer.alloc(0) };

/** A file node whose content is still being stored (wrapped so `await` does not wait for it). */
interface PendingNode {
  wait: Promise<TreeNode | undefined>;
}

interface SourceTrie {
  children: Map<string, SourceTrie>;
  /** Set when this path itself is a source path (everything below is backed up). */
  source: boolean;
}

export class TreeBuilder {
  readonly stats: WalkStats = { filesNew: 0, filesChanged: 0, filesUnchanged: 0, dirs: 0, bytesRead: 0, totalBytes: 0 };
  readonly errors: SnapshotError[] = [];
  errorCount = 0;
  /** Number of unreadable items (the snapshot is partial when > 0). */
  unreadable = 0;
  private readonly slots: Semaphore;
  /** Locations of parent subtrees, looked up with their parent directory's content (see reusableContent). */
  private readonly treeLocs = new Map<string, BlobLocation>();
  /** readdir and lstat: synchronous while the metadata is cached, else asynchronous. */
  private readonly meta = new MetadataReader();
  private activeDirs = 0;
  private readonly hardlinks = new Map<string, Promise<ContentResult>>();
  /**
   * With `oneFileSystem`: every source path, nested ones too, as keys ({@link bytesKey}) and as a
   * trie. As restic does, a directory is entered when it is on the device of the nearest source
   * path at or above it; a directory on another device (a mount point) is kept, empty but for the
   * way to the source paths inside it.
   */
  private sources: { keys: Set<string>; trie: SourceTrie } | undefined;

  constructor(private readonly o: TreeBuilderOptions) {
    this.slots = new Semaphore(o.maxFilesInFlight ?? 256);
  }

  private report(path: string, err: unknown, unreadable = true): void {
    const e = err as { code?: string; message?: string };
    const code = typeof e?.code === 'string' ? e.code : 'IO_ERROR';
    const message = e?.message ?? String(err);
    this.errorCount++;
    if (unreadable) this.unreadable++;
    if (this.errors.length < 1000) this.errors.push({ path, message, code });
    this.o.progress.error({ path, code, message });
  }

  /** Builds the root tree for absolute source paths; returns its id. */
  async buildRoot(paths: readonly string[], prevRoot: string | undefined): Promise<string> {
    if (this.o.oneFileSystem) {
      this.sources = { keys: new Set(paths.map((p) => bytesKey(Buffer.from(p)))), trie: sourceTrie(paths, false) };
    }
    const trie = sourceTrie(paths, true);
    if (trie.source) {
      const root = Buffer.from('/');
      // With oneFileSystem, the root's device bounds the walk from its first level on.
      const rootDev = this.o.oneFileSystem ? (await fsp.lstat(root, { bigint: true })).dev : undefined;
      return this.saveDir(root, prevRoot, await this.recordOf(root, prevRoot), rootDev);
    }
    return this.saveVirtual(Buffer.from('/'), trie, prevRoot);
  }

  /** The source paths strictly inside directory `dir` (with `oneFileSystem`), if any. */
  private sourcesBelow(dir: Buffer): SourceTrie | undefined {
    let t = this.sources?.trie;
    for (const part of rawPathText(dir).split('/').filter(Boolean)) {
      t = t?.children.get(part);
      if (!t) return undefined;
    }
    return t && t.children.size > 0 ? t : undefined;
  }

  /** An intermediate directory: only the children leading to source paths are included. */
  private async saveVirtual(path: Buffer, trie: SourceTrie, prevTree: string | undefined): Promise<string> {
    const prev = await this.prevEntries(prevTree);
    const names = [...trie.children.keys()].map((n) => Buffer.from(n)).sort(Buffer.compare);
    const nodes: TreeNode[] = [];
    for (const name of names) {
      const child = trie.children.get(name.toString())!;
      const full = joinRawPath(path, name);
      let st: BigIntStats;
      try {
        st = await fsp.lstat(full, { bigint: true });
      } catch (err) {
        this.report(rawPathText(full), err);
        continue;
      }
      const prevNode = prev.get(bytesKey(name));
      if (child.source) {
        const reuse = (await this.reusableContent([{ name }], [st], prev)).has(0);
        const record =
          st.isDirectory() && prevNode?.type === 'dir' ? await this.recordOf(full, prevNode.subtree) : undefined;
        const node = await this.nodeFor(full, name, st, prevNode, st.dev, reuse, record);
        const done = node && 'wait' in node ? await node.wait : node;
        if (done) nodes.push(done);
      } else if (st.isDirectory()) {
        const node = nodeFromStat(name, st);
        node.subtree = await this.saveVirtual(full, child, prevNode?.type === 'dir' ? prevNode.subtree : undefined);
        nodes.push(node);
      } else {
        this.report(rawPathText(full), new CairnError('NOT_FOUND', 'not a directory'));
      }
    }
    return this.storeTree(nodes);
  }

  /** The parent run's record of a directory, if it names `prevTree` (the parent snapshot's tree). */
  private async recordOf(path: Buffer, prevTree: string | undefined): Promise<DirRecord | undefined> {
    if (!prevTree || !this.o.records?.usable) return undefined;
    const [record] = await this.o.records.lookup([path]);
    return record?.treeId === prevTree ? record : undefined;
  }

  private async prevEntries(treeId: string | undefined): Promise<Map<string, TreeNode>> {
    const map = new Map<string, TreeNode>();
    if (!treeId) return map;
    try {
      const loc = this.treeLocs.get(treeId);
      this.treeLocs.delete(treeId);
      for await (const n of this.o.repo.treeEntries(treeId, this.o.signal, loc)) map.set(bytesKey(n.name), n);
    } catch (err) {
      if ((err as CairnError).code === 'ABORTED') throw err;
      // A damaged parent only costs re-reading: everything below is treated as new.
    }
    return map;
  }

  /**
   * A real directory: every entry not excluded. Entries are stat'ed concurrently; subdirectories
   * are walked concurrently while the global budget of active directories allows, in the calling
   * chain otherwise (never waiting on a slot, so nesting cannot deadlock). `onWalked` is called once
   * every entry is handed out, before waiting for file contents: the caller's walk goes on from
   * there. When every node equals the parent snapshot's, the parent's tree id is reused without
   * encoding anything. `record`: the parent run's record of this directory, whose tree is then
   * loaded only if the directory turns out changed (see dir-records.ts).
   */
  private async saveDir(
    path: Buffer,
    prevTree: string | undefined,
    record: DirRecord | undefined,
    rootDev: bigint | undefined,
    onWalked?: () => void,
  ): Promise<string> {
    throwIfAborted(this.o.signal);
    this.stats.dirs++;
    const records = this.o.records;
    const base = prevTree ?? record?.treeId;
    // Without a record the parent tree is needed anyway: load it alongside the listing.
    const prevLoad = record ? undefined : this.prevEntries(base);
    prevLoad?.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    const listing = await this.meta.readdir(path).catch((err: unknown) => err as Error);
    if (listing instanceof Error) {
      await prevLoad;
      this.report(rawPathText(path), listing);
      records?.forget(path);
      return this.storeTree([]);
    }
    const entries = listEntries(path, listing, this.o.exclude);
    const stats = await this.meta.lstatAll(entries.map((e) => e.full));
    const digest = records?.digest(entries, stats);
    // The parent run's records of the subdirectories: for this directory's fast path and theirs.
    const subdirs: number[] = [];
    if (records?.usable) {
      stats.forEach((st, i) => {
        if ('ino' in st && st.isDirectory()) subdirs.push(i);
      });
    }
    const subRecords = new Map<number, DirRecord>();
    const found = subdirs.length > 0 ? await records!.lookup(subdirs.map((i) => entries[i]!.full)) : [];
    subdirs.forEach((i, j) => {
      if (found[j]) subRecords.set(i, found[j]);
    });

    let prev: Map<string, TreeNode>;
    let reusable: Set<number>;
    /** Subdirectories already walked (the fast path below found one of them changed). */
    let walked: Map<number, TreeNode | undefined> | undefined;
    if (record && digest && bytesEqual(record.digest, digest) && subRecords.size === subdirs.length) {
      // Same entries as in the parent run: only the subdirectories can differ.
      walked = new Map();
      const subs: [number, Promise<TreeNode | undefined>][] = [];
      for (const i of subdirs) {
        throwIfAborted(this.o.signal);
        const e = entries[i]!;
        const sub = this.startSubdir(e.full, e.name, stats[i] as BigIntStats, undefined, subRecords.get(i), rootDev);
        subs.push([i, sub.node]);
        if (sub.handedOut) await sub.handedOut;
      }
      onWalked?.();
      for (const [i, node] of subs) walked.set(i, await node);
      if (subdirs.every((i) => walked!.get(i)?.subtree === subRecords.get(i)!.treeId)) {
        this.countUnchanged(stats);
        records?.record(path, digest, record.treeId, record);
        return record.treeId;
      }
      prev = await this.prevEntries(record.treeId);
      reusable = await this.reusableContent(entries, stats, prev, () => true);
    } else {
      prev = await (prevLoad ?? this.prevEntries(base));
      // A subdirectory walked from its record loads its parent tree only if it changed.
      reusable = await this.reusableContent(entries, stats, prev, (i, t) => subRecords.get(i)?.treeId === t);
    }
    const pending: (PendingNode | TreeNode | Promise<TreeNode | undefined>)[] = [];
    for (const [i, e] of entries.entries()) {
      throwIfAborted(this.o.signal);
      const st = stats[i]!;
      if (!('ino' in st)) {
        if (st.code !== 'ENOENT') this.report(rawPathText(e.full), st); // ENOENT: deleted since readdir
        continue;
      }
      if (walked?.has(i)) {
        const node = walked.get(i);
        if (node) pending.push(node);
        continue;
      }
      const prevNode = prev.get(bytesKey(e.name));
      if (st.isDirectory()) {
        // A subdirectory's record is used only if it names the parent snapshot's tree.
        const r = subRecords.get(i);
        const sub = this.startSubdir(
          e.full,
          e.name,
          st,
          prevNode,
          r && prevNode?.type === 'dir' && prevNode.subtree === r.treeId ? r : undefined,
          rootDev,
        );
        pending.push(sub.node);
        if (sub.handedOut) await sub.handedOut; // over budget: walk it now, in this chain
        continue;
      }
      const node = await this.nodeFor(e.full, e.name, st, prevNode, rootDev, reusable.has(i));
      if (node) pending.push(node);
    }
    if (!walked) onWalked?.();
    const settled = await Promise.all(pending.map((n) => ('wait' in n ? n.wait : n)));
    const nodes = settled.filter((n): n is TreeNode => n !== undefined);
    const id =
      base && nodes.length === prev.size && nodes.every((n) => sameNode(n, prev.get(bytesKey(n.name))))
        ? base // identical directory: identical tree blob, already stored
        : await this.storeTree(nodes);
    if (records) {
      // Recorded only when every entry made it into the tree: one left out must be retried.
      if (digest && nodes.length === entries.length) records.record(path, digest, id, record);
      else records.forget(path);
    }
    return id;
  }

  /**
   * Starts walking a subdirectory. It holds a walk slot until its entries are all handed out, not
   * until its files are stored: directories waiting for content must not stall the walk (trees of
   * many small directories would otherwise keep only a few files in flight). `handedOut` is set
   * when the budget of active directories is spent: the caller then awaits it, walking this one in
   * its own chain.
   */
  private startSubdir(
    full: Buffer,
    name: Uint8Array,
    st: BigIntStats,
    prevNode: TreeNode | undefined,
    record: DirRecord | undefined,
    rootDev: bigint | undefined,
  ): { node: Promise<TreeNode | undefined>; handedOut: Promise<void> | undefined } {
    const concurrent = this.activeDirs < MAX_ACTIVE_DIRS;
    if (concurrent) this.activeDirs++;
    let walked!: () => void;
    const walkedOrDone = new Promise<void>((resolve) => {
      walked = resolve;
    });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (concurrent) this.activeDirs--;
      walked();
    };
    const sub = this.nodeFor(full, name, st, prevNode, rootDev, false, record, release).finally(release);
    sub.catch(() => {}); // observed by the caller; never an unhandled rejection meanwhile
    return { node: sub as Promise<TreeNode | undefined>, handedOut: concurrent ? undefined : walkedOrDone };
  }

  /** Counts a recorded directory's files as unchanged, each as {@link fileNode} counts a reused one. */
  private countUnchanged(stats: readonly StatResult[]): void {
    for (const st of stats) {
      if (!('ino' in st) || !st.isFile()) continue;
      const size = Number(st.size);
      this.stats.totalBytes += size;
      this.countReused(size);
    }
    this.o.progress.tick();
  }

  /** A file whose content is the parent snapshot's, not read. */
  private countReused(size: number): void {
    this.stats.filesUnchanged++;
    this.o.progress.filesDone++;
    this.o.progress.bytesDone += size;
  }

  /**
   * Indexes (into `entries`) of the files that may reuse their parent's content: same size,
   * mtime, ctime and inode, and every blob still indexed (one batched lookup per directory). The
   * same lookup finds the parent's subtrees of the subdirectories, which are walked next, except
   * those `located` says need no location (walked already, or walked from their record).
   */
  private async reusableContent(
    entries: { name: Buffer }[],
    stats: (BigIntStats | NodeJS.ErrnoException)[],
    prev: Map<string, TreeNode>,
    located: (i: number, subtree: string) => boolean = () => false,
  ): Promise<Set<number>> {
    const ok = new Set<number>();
    if (this.o.kind === 'full' || prev.size === 0) return ok;
    const candidates: { i: number; ids: string[] }[] = [];
    const subtrees: string[] = [];
    for (const [i, e] of entries.entries()) {
      const st = stats[i]!;
      if (!('ino' in st)) continue;
      const p = prev.get(bytesKey(e.name));
      if (st.isDirectory() && p?.type === 'dir' && p.subtree && !located(i, p.subtree)) subtrees.push(p.subtree);
      if (!st.isFile()) continue;
      if (
        p?.type === 'file' &&
        p.size === Number(st.size) &&
        p.mtimeNs === st.mtimeNs &&
        p.ctimeNs === st.ctimeNs &&
        p.inode === st.ino &&
        (p.content !== undefined || p.contentLists !== undefined)
      ) {
        candidates.push({ i, ids: p.content ?? p.contentLists ?? [] });
      }
    }
    const all = [...new Set(candidates.flatMap((c) => c.ids))];
    const found = await this.o.index.lookup(fromHexMany([...all, ...subtrees], BLOB_ID_LENGTH, 'blob id'));
    subtrees.forEach((id, j) => {
      const loc = found[all.length + j];
      if (loc) this.treeLocs.set(id, loc);
    });
    const missing = new Set(all.filter((_, j) => !found[j]));
    for (const c of candidates) if (c.ids.every((id) => !missing.has(id))) ok.add(c.i);
    return ok;
  }

  /**
   * Metadata node for one path. Directories are complete when this resolves; files come back as a
   * {@link PendingNode} whose content is still being stored. Undefined for skipped entries.
   */
  private async nodeFor(
    full: Buffer,
    name: Uint8Array,
    st: BigIntStats,
    prev: TreeNode | undefined,
    rootDev: bigint | undefined,
    reuse: boolean,
    record?: DirRecord,
    onWalked?: () => void,
  ): Promise<PendingNode | TreeNode | undefined> {
    const node = nodeFromStat(name, st);
    switch (node.type) {
      case 'dir': {
        let dev = rootDev ?? st.dev;
        if (this.sources) {
          if (this.sources.keys.has(bytesKey(full))) {
            dev = st.dev; // a source path: entered, and its own device bounds the walk below it
          } else if (st.dev !== dev) {
            // Mount point: kept, contents not followed, but for the source paths inside it.
            const inside = this.sourcesBelow(full);
            const prevTree = prev?.type === 'dir' ? prev.subtree : undefined;
            node.subtree = inside ? await this.saveVirtual(full, inside, prevTree) : await this.storeTree([]);
            return node;
          }
        }
        node.subtree = await this.saveDir(full, prev?.type === 'dir' ? prev.subtree : undefined, record, dev, onWalked);
        return node;
      }
      case 'symlink':
        try {
          node.target = new Uint8Array(await fsp.readlink(full, { encoding: 'buffer' }));
        } catch (err) {
          this.report(rawPathText(full), err);
          return undefined;
        }
        return node;
      case 'file':
        return this.fileNode(full, node, prev, reuse);
      default:
        return node; // FIFOs, sockets and devices: metadata only, never opened
    }
  }

  private async fileNode(
    full: Buffer,
    node: TreeNode,
    prev: TreeNode | undefined,
    reuse: boolean,
  ): Promise<PendingNode | TreeNode> {
    const path = rawPathText(full);
    const size = node.size ?? 0;
    this.stats.totalBytes += size;
    if (reuse && prev) {
      if (prev.content) node.content = prev.content;
      if (prev.contentLists) node.contentLists = prev.contentLists;
      this.countReused(size);
      this.o.progress.tick();
      return node;
    }
    await this.slots.acquire();
    this.o.progress.currentFile = path;
    const wait = this.readContent(full, node)
      .then(async (result) => {
        this.stats.bytesRead += result.size;
        node.size = result.size;
        await this.setContent(node, result.content);
        if (prev?.type !== 'file') this.stats.filesNew++;
        else if (sameContent(prev, node)) this.stats.filesUnchanged++;
        else this.stats.filesChanged++;
        return node;
      })
      .catch((err: unknown) => {
        if ((err as CairnError).code === 'ABORTED') throw err;
        this.report(path, err);
        return undefined;
      })
      .finally(() => {
        // Bytes were counted as they were read (ContentPool's onRead).
        this.slots.release();
        this.o.progress.filesDone++;
        this.o.progress.tick();
      });
    wait.catch(() => {}); // observed later by the directory; never an unhandled rejection meanwhile
    return { wait };
  }

  /** Reads a file through the pool, once more if it changed meanwhile; hard links are read once. */
  private readContent(full: Buffer, node: TreeNode): Promise<ContentResult> {
    const key = node.links > 1 ? `${node.device}:${node.inode}` : undefined;
    const existing = key ? this.hardlinks.get(key) : undefined;
    if (existing) return existing;
    const expect = { size: node.size ?? 0, mtimeNs: node.mtimeNs };
    const run = this.o.pool.processFile(full, expect).then(async (first) => {
      if (!first.changed) return first;
      const st = await fsp.lstat(full, { bigint: true });
      const second = await this.o.pool.processFile(full, { size: Number(st.size), mtimeNs: st.mtimeNs });
      node.mtimeNs = st.mtimeNs;
      node.ctimeNs = st.ctimeNs;
      if (second.changed) {
        this.report(
          rawPathText(full),
          new CairnError('IO_ERROR', 'file changed while it was read (twice); stored as read'),
          false,
        );
      }
      return second;
    });
    if (key) this.hardlinks.set(key, run);
    return run;
  }

  /** Sets a file node's content ids, moving them to content-list blobs for very large files. */
  async setContent(node: TreeNode, ids: string[]): Promise<void> {
    if (ids.length <= MAX_INLINE_CONTENT) {
      node.content = ids;
      return;
    }
    const lists: string[] = [];
    for (let i = 0; i < ids.length; i += MAX_INLINE_CONTENT) {
      const raw = encodeContentList(ids.slice(i, i + MAX_INLINE_CONTENT));
      lists.push(await this.o.packer.addRaw('tree', raw, this.o.repo.config.compression));
    }
    node.contentLists = lists;
  }

  /** Stores a directory's nodes (see {@link Packer.addTree}). */
  private storeTree(nodes: TreeNode[]): Promise<string> {
    return this.o.packer.addTree(nodes, this.o.repo.config.compression);
  }
}

/** A trie of absolute source paths; with `outermost`, paths inside another source path are left out. */
function sourceTrie(paths: readonly string[], outermost: boolean): SourceTrie {
  const trie: SourceTrie = { children: new Map(), source: false };
  for (const p of paths) {
    let t = trie;
    for (const part of p.split('/').filter(Boolean)) {
      if (outermost && t.source) break; // nested in another source path
      let c = t.children.get(part);
      if (!c) {
        c = { children: new Map(), source: false };
        t.children.set(part, c);
      }
      t = c;
    }
    t.source = true;
    if (outermost) t.children.clear();
  }
  return trie;
}
