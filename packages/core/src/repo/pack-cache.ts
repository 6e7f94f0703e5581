/**
 * A small cache of whole packs of tree blobs. Walking a snapshot reads thousands of small tree
 * blobs that sit together in a few packs; reading each pack once instead of once per blob turns
 * thousands of range reads into a handful. Bounded by bytes; only tree packs go through it.
 */
import type { Store } from '../store/store.js';
import { packName } from './names.js';

/** Packs larger than this are read by range instead. */
const MAX_CACHED_PACK = 32 * 1024 * 1024;

export class PackCache {
  private readonly packs = new Map<string, Promise<Uint8Array>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly store: Store,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /**
   * The `length` bytes at `offset` of pack `packId`, from the cached whole pack; undefined when the
   * pack is too large to cache (the caller then reads the range itself).
   */
  async read(packId: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    let pack = this.packs.get(packId);
    if (!pack) {
      const { size } = await this.store.stat(packName(packId), { signal });
      if (size > MAX_CACHED_PACK) return undefined;
      pack = this.store.get(packName(packId), { signal });
      this.packs.set(packId, pack);
      this.sizes.set(packId, size);
      this.bytes += size;
      pack.catch(() => this.drop(packId));
      this.evict(packId);
    } else {
      // Refresh its place in the LRU order.
      this.packs.delete(packId);
      this.packs.set(packId, pack);
    }
    const bytes = await pack;
    return bytes.subarray(offset, offset + length);
  }

  private evict(keep: string): void {
    for (const id of this.packs.keys()) {
      if (this.bytes <= this.maxBytes) return;
      if (id !== keep) this.drop(id);
    }
  }

  private drop(packId: string): void {
    if (!this.packs.delete(packId)) return;
    this.bytes -= this.sizes.get(packId) ?? 0;
    this.sizes.delete(packId);
  }

  clear(): void {
    this.packs.clear();
    this.sizes.clear();
    this.bytes = 0;
  }
}
