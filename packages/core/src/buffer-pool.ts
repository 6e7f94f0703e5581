/**
 * Large buffers, handed out and given back: the content workers' sealed batches and the packs
 * `verify --read-data` reads whole are megabytes each, moved between threads. A new buffer per
 * batch or pack left that memory to the garbage collectors of two threads (measured on 2026-11-22:
 * first backup 2.34 → 2.08 s and 373 → 337 MiB with reuse; verify 444–503 → 358–394 MiB).
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private keptBytes = 0;

  /**
   * @param maxBytes bytes of buffers kept for reuse at most (the rest is left to the GC)
   * @param minSize smallest buffer allocated (so one buffer serves reads of varying sizes)
   */
  constructor(
    private readonly maxBytes: number,
    private readonly minSize: number,
  ) {}

  /** A buffer of exactly `size` bytes: a view of a kept one when one is large enough. */
  take(size: number): Uint8Array {
    const i = this.free.findIndex((b) => b.byteLength >= size);
    if (i < 0) return new Uint8Array(new ArrayBuffer(Math.max(size, this.minSize)), 0, size);
    const [buffer] = this.free.splice(i, 1);
    this.keptBytes -= buffer!.byteLength;
    return new Uint8Array(buffer!, 0, size);
  }

  /** Gives a buffer back (a detached one, with no bytes, is ignored). */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0 || this.free.includes(buffer)) return;
    if (this.keptBytes + buffer.byteLength > this.maxBytes) return;
    this.free.push(buffer);
    this.keptBytes += buffer.byteLength;
  }
}
