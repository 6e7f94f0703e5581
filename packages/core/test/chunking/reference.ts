/**
 * Test helpers: a literal, slow BigInt port of FastCDC 2020 as /shared/notes/fastcdc-2020.md states
 * it (independent of the WebAssembly kernel), a seeded PRNG, and test inputs with both random
 * stretches and long runs of equal bytes (which end chunks at `max`).
 */
import { GEAR, MASKS } from '../../src/chunking/gear-table.js';

const M64 = (1n << 64n) - 1n;

export interface RefCut {
  offset: number;
  length: number;
  hash: bigint;
}

/** FastCDC 2020, step by step from the note, with BigInt arithmetic. */
export function referenceFastcdc(
  data: Uint8Array,
  o: { min: number; avg: number; max: number; normalization?: number; seed?: bigint },
): RefCut[] {
  const level = o.normalization ?? 1;
  const seed = BigInt.asUintN(64, o.seed ?? 0n);
  const gear = [...GEAR].map((g) => g ^ seed);
  const gearLs = [...GEAR].map((g) => ((g << 1n) & M64) ^ ((seed << 1n) & M64));
  const bits = Math.round(Math.log2(o.avg));
  const maskS = MASKS[bits + level]!;
  const maskL = MASKS[bits - level]!;
  const maskSLs = (maskS << 1n) & M64;
  const maskLLs = (maskL << 1n) & M64;
  const out: RefCut[] = [];
  let start = 0;
  while (start < data.length) {
    const n = data.length - start;
    let length = n;
    let h = 0n;
    if (n > o.min) {
      const end = Math.min(n, o.max);
      const center = Math.min(n, o.avg);
      length = end;
      for (let a = o.min - (o.min % 2); Math.floor(a / 2) < Math.floor(end / 2); a += 2) {
        const small = Math.floor(a / 2) < Math.floor(center / 2);
        h = ((h << 2n) + gearLs[data[start + a]!]!) & M64;
        if ((h & (small ? maskSLs : maskLLs)) === 0n) {
          length = a;
          break;
        }
        h = (h + gear[data[start + a + 1]!]!) & M64;
        if ((h & (small ? maskS : maskL)) === 0n) {
          length = a + 1;
          break;
        }
      }
    }
    out.push({ offset: start, length, hash: h });
    start += length;
  }
  return out;
}

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes alternating random stretches and runs of one repeated byte. */
export function mixedData(size: number, seed: number): Uint8Array {
  const rand = prng(seed);
  const out = new Uint8Array(size);
  let off = 0;
  while (off < size) {
    const len = Math.min(size - off, 1 + Math.floor(rand() * 20000));
    if (rand() < 0.2) out.fill(Math.floor(rand() * 256), off, off + len);
    else for (let i = off; i < off + len; i++) out[i] = Math.floor(rand() * 256);
    off += len;
  }
  return out;
}

/** Splits `data` into pieces of random sizes, including empty and 1-byte pieces. */
export function randomSplit(data: Uint8Array, rand: () => number, maxPiece: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    const r = rand();
    const len = r < 0.1 ? 0 : r < 0.25 ? 1 : Math.floor(rand() * maxPiece);
    pieces.push(data.subarray(off, off + len));
    off += len;
  }
  pieces.push(new Uint8Array(0));
  return pieces;
}

/** Fast byte equality for large arrays (vitest's deep equality walks element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
