/**
 * The main thread's end of the backup pipeline: answers dedup lookups, collects sealed blobs into
 * packs (data and trees apart, so tree walks read small packs), stores finished packs with bounded
 * concurrency, and writes index segments at checkpoints.
 *
 * Invariants: a blob id is "in flight" from the moment it is accepted until its pack is stored and
 * registered with the index, so no lookup can miss it in between; memory is bounded by the pack
 * size times the packs open or uploading, because `deliver` waits while uploads are saturated.
 */
import { type Compression, compressionFromId } from '../compress/index.js';
import { throwIfAborted } from '../errors.js';
import { BLOB_ID_LENGTH, type BlobType, blobId, type SealedBlob, sealBlob } from '../format/blob.js';
import { toHex } from '../format/bytes.js';
import { type FinishedPack, PACK_BLOCK_SIZE, PackWriter } from '../format/pack-writer.js';
import { encodeTree, MAX_TREE_ENTRIES, type TreeNode } from '../format/tree.js';
import type { RepoIndex } from '../repo/repo-index.js';
import type { Repository } from '../repo/repository.js';
import type { SealedBatch } from './content-processor.js';

/**
 * Packs stored between index checkpoints, at most: every pack, so a killed backup leaves at most
 * the packs in flight unindexed (the session's small segments are merged when it ends).
 */
const CHECKPOINT_PACKS = 1;
/** Time between index checkpoints, at most (ms). */
const CHECKPOINT_MS = 30_000;
/** Blocks kept for reuse, at most (32 MiB: two default packs). */
const MAX_FREE_BLOCKS = 32;

export interface PackerStats {
  /** New blobs accepted. */
  blobs: number;
  /** Raw bytes of new data blobs (file content; trees are not counted). */
  bytesAdded: number;
  /** Bytes of packs stored. */
  bytesStored: number;
  packs: number;
}

/** Seals blobs on other threads (the content pool's workers); see {@link Packer.sealer}. */
export interface RawSealer {
  /** False while it cannot (no worker running): the packer seals on this thread then. */
  readonly sealsElsewhere: boolean;
  /** Seals the blob and delivers it to the packer later (before the pool drains). */
  sealRaw(type: BlobType, id: Uint8Array, raw: Uint8Array, compression: Compression): void;
}

export class Packer {
  private readonly writers = new Map<BlobType, PackWriter>();
  private readonly inFlight = new Set<string>();
  /** Ids handed to the {@link sealer} and not yet delivered: stored once however often they come. */
  private readonly sealing = new Set<string>();
  /**
   * Where {@link addRaw} seals new blobs when it can, instead of on this thread: a backup's tree
   * blobs, sealed on the main thread, held up its walk of many small directories.
   */
  sealer: RawSealer | undefined;
  /** Blocks of stored packs, reused by the next ones (the store keeps no reference after a put). */
  private readonly freeBlocks: Uint8Array[] = [];
  private readonly allocateBlock = () => this.freeBlocks.pop() ?? new Uint8Array(PACK_BLOCK_SIZE);
  private readonly uploads = new Set<Promise<void>>();
  private checkpointChain: Promise<unknown> = Promise.resolve();
  private lastCheckpoint = Date.now();
  private failure: unknown;
  readonly stats: PackerStats = { blobs: 0, bytesAdded: 0, bytesStored: 0, packs: 0 };

  constructor(
    private readonly repo: Repository,
    private readonly index: RepoIndex,
    private readonly options: {
      signal?: AbortSignal;
      uploadConcurrency?: number;
      onPackStored?: (size: number) => void;
    } = {},
  ) {}

  /**
   * For ids packed 32 bytes each: one flag per id, 1 when the repository does not have the blob
   * and nobody in this run is storing it.
   */
  async lookup(packed: Uint8Array): Promise<Uint8Array> {
    const n = packed.length / BLOB_ID_LENGTH;
    const need = new Uint8Array(n);
    const ask: Uint8Array[] = [];
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = packed.subarray(i * BLOB_ID_LENGTH, (i + 1) * BLOB_ID_LENGTH);
      const key = toHex(id);
      if (!this.inFlight.has(key) && !this.sealing.has(key)) {
        ask.push(id);
        at.push(i);
      }
    }
    // Mostly new chunks: the index may answer those from its dedup filter (see RepoIndex.lookup).
    const found = await this.index.lookup(ask, { likelyNew: true });
    found.forEach((loc, j) => {
      if (!loc) need[at[j]!] = 1;
    });
    return need;
  }

  /**
   * Accepts a batch of sealed data blobs from a content processor. The blobs are copied: once this
   * resolves the batch's buffer is free (it resolves with undefined: the caller keeps the buffer).
   */
  async deliver(batch: SealedBatch): Promise<undefined> {
    const bytes = new Uint8Array(batch.buffer);
    const type = batch.type ?? 'data';
    let off = 0;
    for (let i = 0; i < batch.meta.length / 3; i++) {
      const length = batch.meta[i * 3 + 2]!;
      const full = this.add({
        type,
        id: batch.ids.subarray(i * BLOB_ID_LENGTH, (i + 1) * BLOB_ID_LENGTH),
        compression: compressionFromId(batch.meta[i * 3]!),
        rawLength: batch.meta[i * 3 + 1]!,
        sealed: bytes.subarray(off, off + length),
      });
      if (full) await full;
      off += length;
    }
    return undefined;
  }

  /** Stores a tree (or other main-thread) blob unless the repository already has it; returns its id. */
  async addRaw(type: BlobType, raw: Uint8Array, compression: Compression): Promise<string> {
    const id = blobId(this.repo.keys.idKey, raw);
    const [need] = await this.lookup(id);
    if (need) {
      if (this.sealer?.sealsElsewhere) {
        this.sealing.add(toHex(id));
        this.sealer.sealRaw(type, id, raw, compression);
      } else await this.add(sealBlob(this.repo.keys.dataKey, type, id, raw, compression));
    }
    return toHex(id);
  }

  /**
   * Stores a directory's nodes as one tree blob, or as a chain of them linked by `next` for very
   * large directories (written last part first, so each part can name its successor). Returns the
   * id of the first part.
   */
  async addTree(nodes: TreeNode[], compression: Compression): Promise<string> {
    let next: string | undefined;
    const lastStart = Math.max(0, Math.floor((nodes.length - 1) / MAX_TREE_ENTRIES) * MAX_TREE_ENTRIES);
    for (let start = lastStart; start >= 0; start -= MAX_TREE_ENTRIES) {
      const part = nodes.slice(start, start + MAX_TREE_ENTRIES);
      next = await this.addRaw(
        'tree',
        encodeTree(next === undefined ? { nodes: part } : { nodes: part, next }),
        compression,
      );
    }
    return next!;
  }

  /**
   * Adds a blob to the open pack of its type. Synchronous (no await per blob of a batch) unless
   * the pack filled up: then it returns the wait for its upload to start.
   */
  private add(blob: SealedBlob): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    throwIfAborted(this.options.signal);
    const key = toHex(blob.id);
    this.sealing.delete(key);
    if (this.inFlight.has(key)) return; // two workers raced to store the same new chunk
    this.inFlight.add(key);
    let writer = this.writers.get(blob.type);
    if (!writer) {
      writer = new PackWriter(this.repo.keys.dataKey, this.allocateBlock);
      this.writers.set(blob.type, writer);
    }
    writer.add(blob);
    this.stats.blobs++;
    if (blob.type === 'data') this.stats.bytesAdded += blob.rawLength;
    if (writer.size >= this.repo.config.packSize) {
      this.writers.delete(blob.type);
      return this.upload(writer.finish());
    }
    return undefined;
  }

  /** Stores a finished pack in the background, waiting first while too many are in flight. */
  private async upload(pack: FinishedPack): Promise<void> {
    const limit = this.options.uploadConcurrency ?? 1;
    while (this.uploads.size >= limit) {
      await Promise.race(this.uploads);
      if (this.failure) throw this.failure;
    }
    const p = this.repo
      .savePack(pack, this.options.signal)
      .then(() => {
        // Stored: its blocks serve the next packs (fewer fresh 1 MiB buffers for the GC to free).
        for (const b of pack.blocks) if (this.freeBlocks.length < MAX_FREE_BLOCKS) this.freeBlocks.push(b);
        this.index.addPack(pack.idHex, pack.entries);
        for (const e of pack.entries) this.inFlight.delete(toHex(e.id));
        this.stats.packs++;
        this.stats.bytesStored += pack.size;
        this.options.onPackStored?.(pack.size);
        this.maybeCheckpoint();
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.uploads.delete(p);
      });
    this.uploads.add(p);
  }

  private maybeCheckpoint(): void {
    if (this.index.pendingPackCount >= CHECKPOINT_PACKS || Date.now() - this.lastCheckpoint >= CHECKPOINT_MS) {
      this.lastCheckpoint = Date.now();
      this.checkpointChain = this.checkpointChain
        .then(() => this.index.savePending(this.options.signal))
        .catch((err: unknown) => {
          this.failure ??= err;
        });
    }
  }

  /**
   * Finishes open packs, waits for every upload and writes the final index segment.
   * After this resolves, every accepted blob is stored and indexed.
   */
  async flush(): Promise<void> {
    for (const [type, writer] of [...this.writers]) {
      this.writers.delete(type);
      if (writer.count > 0) await this.upload(writer.finish());
    }
    await this.drain();
    if (this.failure) throw this.failure;
    await this.index.savePending(this.options.signal);
  }

  /**
   * After a failure or cancellation: waits for uploads already started and indexes the packs that
   * made it, so the next backup reuses them. Never throws.
   */
  async salvage(): Promise<void> {
    this.writers.clear();
    await this.drain().catch(() => {});
    await this.index.savePending().catch(() => {});
  }

  private async drain(): Promise<void> {
    while (this.uploads.size > 0) await Promise.allSettled([...this.uploads]);
    await this.checkpointChain;
  }
}
