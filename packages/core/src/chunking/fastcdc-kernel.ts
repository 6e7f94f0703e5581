/**
 * The one FastCDC 2020 implementation: the hand-written WebAssembly scan (fastcdc.wat) plus the cut
 * rules around it. A kernel owns a fixed-size linear memory (never grown, so views of it never
 * detach) holding the seeded tables and a data window. Drivers (`fastcdc`, `FastCdcChunker`) only
 * decide which bytes sit in the window and where; every cut decision is made here, in `find`.
 * Internal: not exported from the package.
 */
import { FASTCDC_WASM_BASE64 } from './fastcdc-wasm.js';
import { GEAR_BYTES_LE } from './gear-table.js';
import type { ChunkerParams } from './params.js';

/** Address of the first data byte: tables occupy [0, 4096). */
export const DATA_BASE = 4096;
const PAGE = 65536;

// The runtime has WebAssembly; the compiler's lib set (ES2023 + node) does not declare it, so the
// few members used here are typed locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  init(seed: bigint, maskS: bigint, maskL: bigint): void;
  reset(): void;
  hash(): bigint;
  scan(p: number, s: number, l: number): number;
}

let compiled: object | undefined;
function kernelModule(): object {
  // Synchronous compilation is fine in Node for a module this small (a few hundred bytes).
  compiled ??= new wasm.Module(Buffer.from(FASTCDC_WASM_BASE64, 'base64'));
  return compiled;
}

/**
 * One kernel instance with its own memory (tables plus a data window of `capacity` bytes), and the
 * cut rules of FastCDC 2020 around the WebAssembly scan. Both drivers call {@link find}, so the
 * rules (skip `min`, which mask applies where, when a chunk ends at `max` or at the end of the
 * data) exist once.
 *
 * The rules are applied incrementally: the scan resumes where it stopped when more bytes arrive.
 * This gives the reference's result for the whole input because the mask used for a pair depends
 * only on the pair's position within the chunk, never on how many bytes follow it: the reference
 * uses mask_s below `min(avg, n)` and mask_l below `min(max, n)` (n = bytes left), and a pair is only
 * scanned once both its bytes exist, i.e. below n anyway.
 */
export class FastCdcKernel {
  /** Usable data bytes at [DATA_BASE, DATA_BASE + capacity). */
  readonly capacity: number;
  /** The whole linear memory as bytes (stable: the memory never grows). */
  readonly bytes: Uint8Array;
  readonly #x: KernelExports;
  #min = 0;
  #max = 0;
  #skip = 0; // the scan starts at min rounded down to even
  #smallStop = 0; // pairs below this relative position use mask_s (avg rounded down to even)
  #largeStop = 0; // pairs below this use mask_l; reaching it means the chunk is `max` long
  #scan = -1; // relative position of the next pair to scan, -1 before the chunk's scan began

  constructor(capacity: number) {
    const pages = Math.ceil((DATA_BASE + capacity) / PAGE);
    const memory = new wasm.Memory({ initial: pages, maximum: pages });
    const instance = new wasm.Instance(kernelModule(), { env: { memory } });
    this.#x = instance.exports as unknown as KernelExports;
    this.bytes = new Uint8Array(memory.buffer);
    this.capacity = pages * PAGE - DATA_BASE;
  }

  /** Loads the seeded tables and masks of `params` and forgets any chunk in progress. */
  configure(params: ChunkerParams): void {
    this.bytes.set(GEAR_BYTES_LE, 0);
    // i64 parameters take signed values; asIntN keeps the same 64 bits.
    this.#x.init(BigInt.asIntN(64, params.seed), BigInt.asIntN(64, params.maskS), BigInt.asIntN(64, params.maskL));
    this.#min = params.min;
    this.#max = params.max;
    this.#skip = params.min - (params.min & 1);
    this.#smallStop = params.avg - (params.avg & 1);
    this.#largeStop = params.max - (params.max & 1);
    this.#scan = -1;
  }

  /** Forgets the chunk in progress (a new stream starts). */
  restart(): void {
    this.#scan = -1;
  }

  /** Position, relative to the chunk start, of the next byte the scan needs. */
  get nextPosition(): number {
    return this.#scan < 0 ? this.#skip : this.#scan;
  }

  /**
   * Looks for the end of the current chunk.
   *
   * @param chunkAddr memory address of the chunk's first byte (virtual: only bytes from
   *   `nextPosition` on need to be in memory, at `chunkAddr + position`)
   * @param avail bytes of the chunk available at `chunkAddr` (from position 0)
   * @param ended true when `avail` reaches the end of the data
   * @returns the chunk length, with {@link hash} holding its hash, or -1 when more bytes are needed
   */
  find(chunkAddr: number, avail: number, ended: boolean): number {
    if (this.#scan < 0) {
      if (avail <= this.#min) {
        if (!ended) return -1;
        this.#x.reset(); // nothing hashed: the reference reports 0
        return avail;
      }
      this.#x.reset();
      this.#scan = this.#skip;
    }
    const stop = this.#largeStop;
    const limit = avail < stop ? avail - (avail & 1) : stop; // both bytes of a pair must be present
    const from = this.#scan;
    if (from < limit) {
      const small = from < this.#smallStop ? Math.min(this.#smallStop, limit) : from;
      const cut = this.#x.scan(chunkAddr + from, chunkAddr + small, chunkAddr + limit);
      if (cut >= 0) {
        this.#scan = -1;
        return cut - chunkAddr;
      }
      this.#scan = limit;
    }
    // No cut so far: the chunk ends at max, or where the data ends.
    let length = -1;
    if (this.#scan >= stop && avail >= this.#max) length = this.#max;
    else if (ended) length = avail;
    if (length >= 0) this.#scan = -1;
    return length;
  }

  /** The hash of the chunk `find` just ended, as an unsigned 64-bit value. */
  hash(): bigint {
    return BigInt.asUintN(64, this.#x.hash());
  }
}
