/**
 * Loads the trees a restore walks, many at once: ids are looked up in the index in one batch,
 * grouped by pack and read as merged byte ranges (several reads at a time), instead of one
 * lookup and one object read per directory in walk order. Decoded trees are kept, up to a budget
 * of entries, so the later walks of the same restore find them in memory; while a bulk load is
 * under way, a walk asking for a tree it will bring waits for it instead of reading it again.
 *
 * Every tree is authenticated and its id re-checked (openBlob) like any other blob. A tree that
 * cannot be loaded here (missing, damaged, not a tree) is simply not cached: {@link TreeLoader.get}
 * then reads it alone through the repository, which reports the precise error.
 */
import { CairnError, throwIfAborted } from '../errors.js';
import { openBlobTransient } from '../format/blob.js';
import { fromHex } from '../format/bytes.js';
import { decodeTree, type Tree } from '../format/tree.js';
import type { BlobLocation } from '../index/blob-location.js';
import { packName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import type { OpenTreeBlob, OpenTreesResult } from './tree-open.js';

/** Ids looked up and read per round. */
const IDS_PER_ROUND = 2048;
/** Gap between two wanted blobs that is read through rather than split into two reads. */
const MERGE_GAP = 256 * 1024;
/** Largest single range read. */
const MAX_RANGE = 4 * 1024 * 1024;
/** Range reads in flight. */
const READS = 4;
/** Sealed bytes per tree-opening job handed to a writer thread (several jobs per range read). */
const OPEN_JOB_BYTES = 256 * 1024;

/**
 * Opens tree blobs elsewhere (restore: on its writer threads): resolves with their raw bytes, or
 * rejects, in which case they are opened here.
 */
export type TreeOpener = (buf: Uint8Array, blobs: OpenTreeBlob[]) => Promise<OpenTreesResult>;

export class TreeLoader {
  private readonly trees = new Map<string, Tree>();
  private entries = 0;
  /** Trees a bulk load will bring, and who waits for them. */
  private readonly expected = new Map<string, ((tree: Tree | undefined) => void)[]>();
  private bulk = false;

  /**
   * @param budget tree entries kept in memory at most (beyond it, trees are loaded but not kept)
   */
  constructor(
    private readonly repo: Repository,
    private readonly budget: number,
    private readonly signal?: AbortSignal,
    /** Where bulk loads open the blobs they read, when it gives one (default: on this thread). */
    private readonly opener?: () => TreeOpener | undefined,
  ) {}

  /**
   * A tree: from memory when loaded before, after the bulk load under way when it will bring it,
   * else read alone (throws if lost or damaged).
   */
  get(id: string): Tree | Promise<Tree> {
    const t = this.trees.get(id);
    if (t) return t;
    if (this.bulk) {
      return new Promise<Tree | undefined>((resolve) => {
        const list = this.expected.get(id);
        if (list) list.push(resolve);
        else this.expected.set(id, [resolve]);
      }).then((tree) => tree ?? this.repo.loadTree(id, this.signal));
    }
    return this.repo.loadTree(id, this.signal);
  }

  /** Forgets a tree the walk is done with (a later request reads it again). */
  release(id: string): void {
    const t = this.trees.get(id);
    if (!t) return;
    this.trees.delete(id);
    this.entries -= t.nodes.length;
  }

  /** The tree if it is in memory. */
  cached(id: string): Tree | undefined {
    return this.trees.get(id);
  }

  /**
   * Marks the start and end of a bulk load (a sequence of {@link loadMany} calls that will bring
   * every tree a concurrent walk needs). When it ends, waiters for trees it did not bring read
   * them alone.
   */
  setBulk(on: boolean): void {
    this.bulk = on;
    if (on) return;
    const waiting = [...this.expected.values()];
    this.expected.clear();
    for (const list of waiting) for (const resolve of list) resolve(undefined);
  }

  /**
   * Loads trees in batches and returns those that could be read (the others are absent from the
   * result). Keeps them in memory while the budget allows.
   */
  async loadMany(ids: string[]): Promise<Map<string, Tree>> {
    const out = new Map<string, Tree>();
    const wanted: string[] = [];
    for (const id of new Set(ids)) {
      const t = this.trees.get(id);
      if (t) out.set(id, t);
      else wanted.push(id);
    }
    for (let i = 0; i < wanted.length; i += IDS_PER_ROUND) {
      await this.round(wanted.slice(i, i + IDS_PER_ROUND), out);
    }
    return out;
  }

  private arrived(id: string, tree: Tree | undefined): void {
    if (tree && this.entries + tree.nodes.length <= this.budget) {
      this.trees.set(id, tree);
      this.entries += tree.nodes.length;
    }
    const list = this.expected.get(id);
    if (!list) return;
    this.expected.delete(id);
    for (const resolve of list) resolve(tree);
  }

  private async round(ids: string[], out: Map<string, Tree>): Promise<void> {
    throwIfAborted(this.signal);
    const index = await this.repo.index(this.signal);
    const bins: Uint8Array[] = [];
    const valid: string[] = [];
    for (const id of ids) {
      try {
        bins.push(fromHex(id, 'tree id'));
        valid.push(id);
      } catch {
        this.arrived(id, undefined); // a malformed id: get() reports it
      }
    }
    const found = await index.lookup(bins);
    const byPack = new Map<string, { id: string; loc: BlobLocation }[]>();
    valid.forEach((id, i) => {
      const loc = found[i];
      if (loc?.type !== 'tree') {
        this.arrived(id, undefined);
        return;
      }
      let list = byPack.get(loc.packId);
      if (!list) {
        list = [];
        byPack.set(loc.packId, list);
      }
      list.push({ id, loc });
    });
    const ranges: { packId: string; start: number; end: number; blobs: { id: string; loc: BlobLocation }[] }[] = [];
    for (const [packId, blobs] of byPack) {
      blobs.sort((a, b) => a.loc.offset - b.loc.offset);
      let cur: (typeof ranges)[number] | undefined;
      for (const b of blobs) {
        const end = b.loc.offset + b.loc.length;
        if (cur && b.loc.offset - cur.end <= MERGE_GAP && end - cur.start <= MAX_RANGE) {
          cur.end = Math.max(cur.end, end);
          cur.blobs.push(b);
        } else {
          cur = { packId, start: b.loc.offset, end, blobs: [b] };
          ranges.push(cur);
        }
      }
    }
    let next = 0;
    const reader = async () => {
      while (next < ranges.length) {
        const r = ranges[next++]!;
        let bytes: Uint8Array | undefined;
        try {
          bytes = await this.repo.store.get(packName(r.packId), {
            offset: r.start,
            length: r.end - r.start,
            ...(this.signal ? { signal: this.signal } : {}),
          });
        } catch (err) {
          if ((err as CairnError).code === 'ABORTED') throw err;
          // get() reads these alone and reports the error
        }
        if (!bytes) {
          for (const { id } of r.blobs) this.arrived(id, undefined);
          continue;
        }
        await this.openRange(bytes, r.start, r.blobs, out);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READS, ranges.length) }, reader));
  }

  /** Opens and decodes the blobs of a range read at `start` on this thread. */
  private openHere(
    bytes: Uint8Array,
    start: number,
    blobs: { id: string; loc: BlobLocation }[],
    out: Map<string, Tree>,
  ): void {
    for (const { id, loc } of blobs) {
      const from = loc.offset - start;
      let tree: Tree | undefined;
      if (from + loc.length <= bytes.length) {
        try {
          tree = decodeTree(openBlobTransient(this.repo.keys, loc, bytes.subarray(from, from + loc.length)));
          out.set(id, tree);
        } catch (err) {
          if (!(err instanceof CairnError)) throw err;
        }
      }
      this.arrived(id, tree);
    }
  }

  /**
   * Opens the blobs of a range read at `start`, in parts of about {@link OPEN_JOB_BYTES}: each part
   * goes to the opener when there is one (each with a copy of its bytes, so parts can run on
   * different threads), else is opened here, and the event loop turns before the next. So a writer
   * thread that finishes loading meanwhile takes the rest of the range, instead of waiting while
   * this thread opens all of it (up to 4 MiB of trees).
   */
  private async openRange(
    bytes: Uint8Array,
    start: number,
    blobs: { id: string; loc: BlobLocation }[],
    out: Map<string, Tree>,
  ): Promise<void> {
    const parts: { id: string; loc: BlobLocation }[][] = [];
    let part: { id: string; loc: BlobLocation }[] = [];
    let partStart = 0;
    for (const b of blobs) {
      if (b.loc.offset - start + b.loc.length > bytes.length) {
        this.arrived(b.id, undefined); // beyond what was read: get() reads it alone
        continue;
      }
      if (part.length > 0 && b.loc.offset + b.loc.length - partStart > OPEN_JOB_BYTES) {
        parts.push(part);
        part = [];
      }
      if (part.length === 0) partStart = b.loc.offset;
      part.push(b);
    }
    if (part.length > 0) parts.push(part);
    const elsewhere: Promise<void>[] = [];
    for (const [i, p] of parts.entries()) {
      const opener = this.opener?.();
      if (opener) {
        const done = this.openElsewhere(opener, bytes, start, p, out);
        done.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
        elsewhere.push(done);
        continue;
      }
      this.openHere(bytes, start, p, out);
      if (i < parts.length - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(elsewhere);
  }

  /** Hands one part of a range to the opener and decodes what comes back; opens it here if the opener fails. */
  private async openElsewhere(
    opener: TreeOpener,
    bytes: Uint8Array,
    start: number,
    p: { id: string; loc: BlobLocation }[],
    out: Map<string, Tree>,
  ): Promise<void> {
    const from = p[0]!.loc.offset;
    const last = p[p.length - 1]!.loc;
    const buf = bytes.slice(from - start, last.offset + last.length - start);
    const jobBlobs: OpenTreeBlob[] = p.map(({ loc }) => ({
      off: loc.offset - from,
      len: loc.length,
      id: loc.id,
      type: loc.type,
      compression: loc.compression,
      rawLength: loc.rawLength,
    }));
    let result: OpenTreesResult;
    try {
      result = await opener(buf, jobBlobs);
    } catch (err) {
      if ((err as CairnError).code === 'ABORTED') throw err;
      this.openHere(bytes, start, p, out);
      return;
    }
    let at = 0;
    p.forEach(({ id }, i) => {
      const end = result.ends[i]!;
      let tree: Tree | undefined;
      if (end >= 0) {
        try {
          tree = decodeTree(result.raw.subarray(at, end));
          out.set(id, tree);
        } catch (err) {
          if (!(err instanceof CairnError)) throw err;
        }
        at = end;
      }
      this.arrived(id, tree);
    });
  }
}
