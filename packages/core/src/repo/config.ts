/**
 * The repository config (`config`): id, format version, chunker parameters and algorithms. Written
 * once by `init` (its presence is what makes a location a repository), sealed under the data key,
 * and never modified.
 */
import { resolveChunkerParams } from '../chunking/index.js';
import { type Compression, zstdAvailable } from '../compress/index.js';
import { CairnError } from '../errors.js';

/** Chunker parameters fixed for the life of a repository. */
export interface ChunkerConfig {
  algorithm: 'fastcdc-2020';
  min: number;
  avg: number;
  max: number;
  normalization: 0 | 1 | 2 | 3;
}

export interface RepoConfig {
  v: 1;
  /** Random 64-hex-digit repository id (names the local cache folder). */
  id: string;
  /** ISO time of `init`. */
  created: string;
  chunker: ChunkerConfig;
  /** Compression of new blobs. */
  compression: Compression;
  /** Target pack size in bytes. */
  packSize: number;
  /** Blob ids: BLAKE3-256 keyed with the repository's id key. */
  hash: 'blake3-keyed';
  /** Sealing: XChaCha20-Poly1305 with random 192-bit nonces. */
  aead: 'xchacha20poly1305';
}

/**
 * Default chunker parameters: average 1 MiB (min 256 KiB, max 4 MiB), normalization level 1.
 * Chosen by measurement on the benchmark data set; docs/chunking.md records the figures and reasons.
 */
export const DEFAULT_CHUNKER: ChunkerConfig = {
  algorithm: 'fastcdc-2020',
  min: 256 * 1024,
  avg: 1024 * 1024,
  max: 4 * 1024 * 1024,
  normalization: 1,
};

/** Default target pack size on disk and object stores. */
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** Pack sizes accepted at init: 1 MiB … 4 GiB. */
const MIN_PACK_SIZE = 1024 * 1024;
const MAX_PACK_SIZE = 4 * 1024 * 1024 * 1024;

/** Validates config values chosen at init; throws INVALID_ARGUMENT / UNSUPPORTED_ALGORITHM. */
export function checkConfigChoices(config: Pick<RepoConfig, 'chunker' | 'compression' | 'packSize'>): void {
  resolveChunkerParams(config.chunker);
  if (!['none', 'lz4', 'zstd'].includes(config.compression)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `unknown compression ${JSON.stringify(config.compression)} (use lz4, zstd or none)`,
    );
  }
  if (config.compression === 'zstd' && !zstdAvailable()) {
    throw new CairnError(
      'UNSUPPORTED_ALGORITHM',
      'zstd is not available in this runtime; use lz4 or install zstd-napi',
    );
  }
  if (!Number.isSafeInteger(config.packSize) || config.packSize < MIN_PACK_SIZE || config.packSize > MAX_PACK_SIZE) {
    throw new CairnError('INVALID_ARGUMENT', `pack size ${config.packSize} must be between 1 MiB and 4 GiB`);
  }
}

/** Validates a decoded config document; throws CORRUPT_DATA or UNSUPPORTED_VERSION. */
export function validateConfig(doc: unknown): RepoConfig {
  const d = doc as Partial<RepoConfig> | null;
  if (typeof d !== 'object' || d === null) throw new CairnError('CORRUPT_DATA', 'config: not an object');
  if (d.v !== 1)
    throw new CairnError(
      'UNSUPPORTED_VERSION',
      // Only numbers and strings are shown: String() or JSON.stringify of an arbitrary value throws on
      // {"toString":0} (TypeError) or deeply nested arrays (RangeError). Found by fuzzing.
      `config: repository format ${typeof d.v === 'number' || typeof d.v === 'string' ? JSON.stringify(d.v) : typeof d.v} is not supported by this version of Cairn`,
    );
  const c = d.chunker;
  if (
    typeof d.id !== 'string' ||
    !/^[0-9a-f]{64}$/.test(d.id) ||
    typeof d.created !== 'string' ||
    !c ||
    c.algorithm !== 'fastcdc-2020' ||
    typeof d.packSize !== 'number' ||
    d.hash !== 'blake3-keyed' ||
    d.aead !== 'xchacha20poly1305'
  ) {
    throw new CairnError('CORRUPT_DATA', 'config: missing or invalid fields');
  }
  try {
    checkConfigChoices(d as RepoConfig);
  } catch (err) {
    if ((err as CairnError).code === 'UNSUPPORTED_ALGORITHM') throw err;
    throw new CairnError('CORRUPT_DATA', `config: ${(err as Error).message}`, { cause: err });
  }
  return d as RepoConfig;
}
