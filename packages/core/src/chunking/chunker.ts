/**
 * `FastCdcChunker`: the streaming FastCDC 2020 chunker of the backup hot path. Bytes go straight
 * into the kernel's WebAssembly memory (a file reader can `read()` into {@link FastCdcChunker.writable}),
 * and each chunk comes out as a view of that memory, so no byte is copied on the way in other than
 * by the read itself, and chunks are never copied on the way out.
 *
 * Guarantee: for any way of splitting a stream into commits, the chunks are exactly those
 * `fastcdc()` returns for the concatenated bytes (same offsets, lengths and hashes).
 */
import { CairnError } from '../errors.js';
import type { FastCdcCut } from './fastcdc.js';
import { DATA_BASE, FastCdcKernel } from './fastcdc-kernel.js';
import { type ChunkerOptions, type ChunkerParams, resolveChunkerParams } from './params.js';

const MiB = 1024 * 1024;
/** Largest accepted {@link FastCdcChunkerOptions.bufferSize}: 1 GiB. */
export const CHUNKER_BUFFER_MAX = 1024 * MiB;

/** A chunk from {@link FastCdcChunker.next}. */
export interface FastCdcChunk extends FastCdcCut {
  /**
   * The chunk's bytes: a view of the chunker's memory, valid until the next call of
   * {@link FastCdcChunker.writable}, {@link FastCdcChunker.write} or {@link FastCdcChunker.reset}
   * on the same chunker. Copy it (`slice()`) to keep it longer. Do not write to it.
   */
  data: Uint8Array;
}

/** Options of {@link FastCdcChunker}. */
export interface FastCdcChunkerOptions extends ChunkerOptions {
  /**
   * Bytes of buffer (kernel memory) for data: at least `max + 64 KiB`, at most 1 GiB; rounded up to
   * 64 KiB. Default `max + max(max, 4 MiB)`. Bigger means larger reads and fewer compactions.
   */
  bufferSize?: number;
}

/**
 * Streaming FastCDC 2020 chunker with a fixed buffer in WebAssembly memory.
 *
 * Use: repeat { `view = writable()`; fill a prefix of `view` (e.g. `fs.read` into it); `commit(n)`;
 * take chunks with `next()` until it returns `undefined` }; then `finish()` and take the last chunks
 * with `next()`. `reset()` makes the chunker ready for another stream, keeping its memory.
 *
 * ```ts
 * const chunker = new FastCdcChunker({ min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 });
 * for (;;) {
 *   const view = chunker.writable();
 *   const { bytesRead } = await file.read(view, 0, view.length);
 *   if (bytesRead === 0) chunker.finish(); else chunker.commit(bytesRead);
 *   for (let c = chunker.next(); c; c = chunker.next()) await store(c.data); // view: use before writable()
 *   if (bytesRead === 0) break;
 * }
 * ```
 *
 * Lifetime rules: a view from `writable()` may be written until the matching `commit()` (nothing
 * else may be called while a read into it is in flight); a chunk's `data` view is valid until the next
 * `writable()`, `write()` or `reset()`, because those may move buffered bytes to the front of the buffer.
 * The memory never grows, so views are never detached. Not safe for concurrent use.
 */
export class FastCdcChunker {
  /** The validated parameters. */
  readonly params: ChunkerParams;
  /** Usable buffer bytes (the requested size rounded up to whole 64 KiB pages). */
  readonly bufferSize: number;
  readonly #kernel: FastCdcKernel;
  readonly #mem: Uint8Array;
  readonly #end: number; // address just past the buffer
  #base = DATA_BASE; // address of the current chunk's first byte
  #fill = DATA_BASE; // address just past the committed bytes
  #offset = 0; // stream offset of #base
  #ended = false;

  /** @throws CairnError `INVALID_ARGUMENT` for bad options (see {@link resolveChunkerParams}). */
  constructor(options: FastCdcChunkerOptions) {
    this.params = resolveChunkerParams(options);
    const { max } = this.params;
    const size = options.bufferSize ?? max + Math.max(max, 4 * MiB);
    if (!Number.isInteger(size) || size < max + 65536 || size > CHUNKER_BUFFER_MAX) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `chunker bufferSize: must be an integer from max + 65536 (${max + 65536}) to ${CHUNKER_BUFFER_MAX}, got ${String(size)}`,
        { details: { bufferSize: size } },
      );
    }
    this.#kernel = new FastCdcKernel(size);
    this.#kernel.configure(this.params);
    this.#mem = this.#kernel.bytes;
    this.bufferSize = this.#kernel.capacity;
    this.#end = DATA_BASE + this.bufferSize;
  }

  /** Stream offset of the next chunk to come out of {@link next}. */
  get offset(): number {
    return this.#offset;
  }

  /** Committed bytes not yet returned as chunks. */
  get buffered(): number {
    return this.#fill - this.#base;
  }

  /** True after {@link finish}. */
  get finished(): boolean {
    return this.#ended;
  }

  /**
   * The free space after the committed bytes, as a writable view of the kernel's memory. If fewer
   * than `minBytes` bytes are free, the pending bytes are first moved to the front of the buffer
   * (invalidating earlier chunk views). Provided chunks are drained with {@link next} after each
   * commit, at least `bufferSize - max + 1` bytes are free after that move.
   *
   * @param minBytes free bytes wanted before compaction is skipped (default: 1 MiB, or
   *   `bufferSize - max` if smaller)
   * @throws CairnError `INVALID_ARGUMENT` after {@link finish}, or when the buffer is full (chunks
   *   were not drained).
   */
  writable(minBytes = Math.min(MiB, this.bufferSize - this.params.max)): Uint8Array {
    if (this.#ended) throw misuse('writable() after finish(): call reset() to start a new stream');
    if (this.#end - this.#fill < minBytes && this.#base > DATA_BASE) {
      this.#mem.copyWithin(DATA_BASE, this.#base, this.#fill);
      this.#fill -= this.#base - DATA_BASE;
      this.#base = DATA_BASE;
    }
    if (this.#fill === this.#end) throw misuse('buffer full: take chunks with next() before writing more');
    return this.#mem.subarray(this.#fill, this.#end);
  }

  /**
   * Declares that the first `n` bytes of the last {@link writable} view now hold the next bytes of
   * the stream.
   *
   * @throws CairnError `INVALID_ARGUMENT` when `n` is not an integer within the free space, or after
   *   {@link finish}.
   */
  commit(n: number): void {
    if (this.#ended) throw misuse('commit() after finish(): call reset() to start a new stream');
    if (!Number.isInteger(n) || n < 0 || n > this.#end - this.#fill) {
      throw misuse(`commit(n): n must be an integer from 0 to ${this.#end - this.#fill}, got ${String(n)}`);
    }
    this.#fill += n;
  }

  /**
   * Copies a prefix of `bytes` into the buffer and commits it (for data already in memory).
   * Returns how many bytes were taken: fewer than `bytes.length` when the buffer filled up, in
   * which case drain {@link next} and write the rest. Invalidates chunk views like {@link writable}.
   */
  write(bytes: Uint8Array): number {
    const view = this.writable();
    const n = Math.min(view.length, bytes.length);
    view.set(n === bytes.length ? bytes : bytes.subarray(0, n));
    this.#fill += n;
    return n;
  }

  /** Declares the end of the stream: {@link next} then also returns the final, shorter chunk(s). */
  finish(): void {
    this.#ended = true;
  }

  /**
   * The next complete chunk, or `undefined` when more input is needed (or, after {@link finish},
   * when every byte has been returned). Its `data` is a view; see the class lifetime rules.
   */
  next(): FastCdcChunk | undefined {
    const base = this.#base;
    const avail = this.#fill - base;
    if (avail === 0) return undefined;
    const length = this.#kernel.find(base, avail, this.#ended);
    if (length < 0) return undefined;
    const chunk: FastCdcChunk = {
      offset: this.#offset,
      length,
      hash: this.#kernel.hash(),
      data: this.#mem.subarray(base, base + length),
    };
    this.#base = base + length;
    this.#offset += length;
    return chunk;
  }

  /** Iterates {@link next} until it returns `undefined`. */
  *chunks(): IterableIterator<FastCdcChunk> {
    for (let c = this.next(); c; c = this.next()) yield c;
  }

  /** Drops all buffered bytes and state so a new stream can start at offset 0 (same parameters). */
  reset(): void {
    this.#base = DATA_BASE;
    this.#fill = DATA_BASE;
    this.#offset = 0;
    this.#ended = false;
    this.#kernel.restart();
  }
}

function misuse(message: string): CairnError {
  return new CairnError('INVALID_ARGUMENT', `FastCdcChunker: ${message}`);
}
