/**
 * Chunker parameters: validation and derivation of the FastCDC 2020 masks. Every entry point
 * (`fastcdc`, `chunkStream`, `FastCdcChunker`) goes through {@link resolveChunkerParams}, so a bad
 * parameter always fails the same way: a `CairnError` with code `INVALID_ARGUMENT` whose message
 * names the parameter.
 */
import { CairnError } from '../errors.js';
import { MASK_INDEX_MAX, MASK_INDEX_MIN, MASKS } from './gear-table.js';

/** Smallest accepted `min` (bytes). */
export const CHUNK_MIN_LOWER_BOUND = 64;
/** Largest accepted `max` (bytes): 64 MiB. The kernel's buffer must hold one whole chunk. */
export const CHUNK_MAX_UPPER_BOUND = 64 * 1024 * 1024;

/** FastCDC normalization level: how much harder (before `avg`) and easier (after) a cut is. */
export type NormalizationLevel = 0 | 1 | 2 | 3;

/** Chunker options as callers give them. */
export interface ChunkerOptions {
  /** Minimum chunk size in bytes (integer, >= 64, < avg). The first `min` bytes are never hashed. */
  min: number;
  /** Target average chunk size in bytes (integer, min < avg < max). */
  avg: number;
  /** Maximum chunk size in bytes (integer, avg < max <= 64 MiB). */
  max: number;
  /** Normalization level (default 1). `round(log2(avg)) ± level` must stay within 5..25. */
  normalization?: NormalizationLevel;
  /**
   * 64-bit seed XORed into the gear table (default 0n = the reference tables). Any bigint is
   * accepted and reduced modulo 2^64 (negative values wrap), so a key-derived value can be passed as is.
   */
  seed?: bigint;
}

/** Validated, derived parameters. Immutable. */
export interface ChunkerParams {
  /** Minimum chunk size (bytes). */
  readonly min: number;
  /** Target average chunk size (bytes). */
  readonly avg: number;
  /** Maximum chunk size (bytes). */
  readonly max: number;
  /** Normalization level (1 when not given). */
  readonly normalization: NormalizationLevel;
  /** The seed reduced to an unsigned 64-bit value. */
  readonly seed: bigint;
  /** `round(log2(avg))`. */
  readonly bits: number;
  /** `MASKS[bits + normalization]`: used while the chunk is shorter than `avg`. */
  readonly maskS: bigint;
  /** `MASKS[bits - normalization]`: used once the chunk has reached `avg`. */
  readonly maskL: bigint;
}

function invalid(param: string, message: string, value: unknown): CairnError {
  return new CairnError('INVALID_ARGUMENT', `chunker ${param}: ${message}`, { details: { [param]: value } });
}

function checkSize(name: 'min' | 'avg' | 'max', value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(name, `must be an integer number of bytes, got ${String(value)}`, value);
  }
  if (value < CHUNK_MIN_LOWER_BOUND || value > CHUNK_MAX_UPPER_BOUND) {
    throw invalid(
      name,
      `must be between ${CHUNK_MIN_LOWER_BOUND} and ${CHUNK_MAX_UPPER_BOUND} bytes, got ${value}`,
      value,
    );
  }
  return value;
}

/**
 * Validates chunker options and derives the masks.
 *
 * Rules: `min`, `avg`, `max` are integers with `64 <= min < avg < max <= 64 MiB`; `normalization` is
 * 0, 1, 2 or 3 and `round(log2(avg)) ± normalization` must index a usable MASKS entry (5..25, so
 * e.g. avg 64 KiB allows levels 0-3 and avg 16 MiB only 0 and 1); `seed` is a bigint.
 *
 * @throws CairnError `INVALID_ARGUMENT`, naming the offending parameter.
 */
export function resolveChunkerParams(options: ChunkerOptions): ChunkerParams {
  if (typeof options !== 'object' || options === null) {
    throw new CairnError('INVALID_ARGUMENT', 'chunker options: expected an object with min, avg and max');
  }
  const min = checkSize('min', options.min);
  const avg = checkSize('avg', options.avg);
  const max = checkSize('max', options.max);
  if (min >= avg) throw invalid('min', `must be smaller than avg (min ${min}, avg ${avg})`, min);
  if (avg >= max) throw invalid('avg', `must be smaller than max (avg ${avg}, max ${max})`, avg);

  const normalization = options.normalization ?? 1;
  if (normalization !== 0 && normalization !== 1 && normalization !== 2 && normalization !== 3) {
    throw invalid('normalization', `must be 0, 1, 2 or 3, got ${String(normalization)}`, normalization);
  }
  const bits = Math.round(Math.log2(avg));
  if (bits + normalization > MASK_INDEX_MAX || bits - normalization < MASK_INDEX_MIN) {
    throw invalid(
      'normalization',
      `level ${normalization} with avg ${avg} (log2 ≈ ${bits}) needs masks ${bits - normalization}..${bits + normalization}, ` +
        `outside the table's ${MASK_INDEX_MIN}..${MASK_INDEX_MAX}; lower the level or change avg`,
      normalization,
    );
  }

  const seed = options.seed ?? 0n;
  if (typeof seed !== 'bigint') throw invalid('seed', `must be a bigint, got ${typeof seed}`, seed);

  return Object.freeze({
    min,
    avg,
    max,
    normalization,
    seed: BigInt.asUintN(64, seed),
    bits,
    maskS: MASKS[bits + normalization]!,
    maskL: MASKS[bits - normalization]!,
  });
}
