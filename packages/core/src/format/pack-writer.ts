/**
 * Assembles sealed blobs into a pack. The writer copies each blob into blocks it owns (so the
 * buffers blobs arrive in can be freed at once: memory is the pack itself, bounded by the target
 * pack size the caller enforces), hashes each block once it is full, and on `finish` appends the sealed
 * header and trailer. The pack id is the plain BLAKE3-256 of every byte of the pack, so anyone can
 * check a pack's integrity without keys.
 */
import { CairnError } from '../errors.js';
import { createBlake3 } from '../hashing/index.js';
import type { SealedBlob } from './blob.js';
import { toHex } from './bytes.js';
import { encodePackTail, type PackEntry } from './pack-header.js';

/** Size of the blocks a pack is assembled in. */
export const PACK_BLOCK_SIZE = 1024 * 1024;

/** A complete pack, ready to be stored under `data/<id[0..2]>/<id>`. */
export interface FinishedPack {
  /** BLAKE3-256 of the pack bytes. */
  id: Uint8Array;
  /** Hex of `id`: the pack's name in the repository. */
  idHex: string;
  /** The pack's bytes, in order (blobs, then header and trailer). */
  parts: Uint8Array[];
  /** Total size in bytes. */
  size: number;
  entries: PackEntry[];
  /**
   * The whole blocks behind `parts` (every one {@link PACK_BLOCK_SIZE} bytes), for a caller that
   * recycles them once the pack is stored.
   */
  blocks: Uint8Array[];
}

/** Appends sealed blobs; call `finish` once. */
export class PackWriter {
  private readonly parts: Uint8Array[] = [];
  private block: Uint8Array | undefined;
  private blockUsed = 0;
  private readonly entries: PackEntry[] = [];
  private readonly hasher = createBlake3();
  private readonly blocks: Uint8Array[] = [];
  private offset = 0;
  private finished = false;

  /**
   * @param allocate where blocks of {@link PACK_BLOCK_SIZE} bytes come from (default: new ones);
   * their previous contents do not matter.
   */
  constructor(
    private readonly dataKey: Uint8Array,
    private readonly allocate: () => Uint8Array = () => new Uint8Array(PACK_BLOCK_SIZE),
  ) {}

  /** Bytes of blobs added so far (excluding the header still to come). */
  get size(): number {
    return this.offset;
  }

  /** Number of blobs added so far. */
  get count(): number {
    return this.entries.length;
  }

  /** Appends one sealed blob. */
  add(blob: SealedBlob): PackEntry {
    if (this.finished) throw new CairnError('INVALID_ARGUMENT', 'pack already finished');
    const entry: PackEntry = {
      type: blob.type,
      id: blob.id,
      compression: blob.compression,
      rawLength: blob.rawLength,
      offset: this.offset,
      length: blob.sealed.length,
    };
    this.append(blob.sealed);
    this.entries.push(entry);
    this.offset += blob.sealed.length;
    return entry;
  }

  /**
   * Copies bytes to the end of the pack's blocks. Blocks are hashed as they fill (and the last one
   * on finish): one hashing call per megabyte rather than one per blob.
   */
  private append(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      if (!this.block || this.blockUsed === this.block.length) {
        if (this.block) {
          this.parts.push(this.block);
          this.hasher.update(this.block);
        }
        this.block = this.allocate();
        if (this.block.length !== PACK_BLOCK_SIZE)
          throw new CairnError('INVALID_ARGUMENT', 'pack block of the wrong size');
        this.blocks.push(this.block);
        this.blockUsed = 0;
      }
      const n = Math.min(this.block.length - this.blockUsed, bytes.length - done);
      this.block.set(bytes.subarray(done, done + n), this.blockUsed);
      this.blockUsed += n;
      done += n;
    }
  }

  /** Seals the header, appends the trailer and returns the finished pack. */
  finish(): FinishedPack {
    if (this.finished) throw new CairnError('INVALID_ARGUMENT', 'pack already finished');
    this.finished = true;
    const tail = encodePackTail(this.dataKey, this.entries);
    if (this.block) {
      const last = this.block.subarray(0, this.blockUsed);
      this.parts.push(last);
      this.hasher.update(last);
    }
    this.block = undefined;
    this.parts.push(tail);
    this.hasher.update(tail);
    const id = this.hasher.digest();
    return {
      id,
      idHex: toHex(id),
      parts: this.parts,
      size: this.offset + tail.length,
      entries: this.entries,
      blocks: this.blocks,
    };
  }
}
