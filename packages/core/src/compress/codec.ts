/**
 * Per-blob compression: the policy (LZ4 by default, zstd where the runtime has it, the raw bytes
 * whenever compression does not shrink them) and the numeric ids the on-disk format records.
 *
 * Guarantees for readers: {@link decompressBlob} never allocates more than the declared raw length,
 * which itself must be within `maxRawLength`; every size recorded inside the compressed bytes is
 * compared with the declared one before decoding, and the output length after; any mismatch or
 * decoding failure is `CORRUPT_DATA`. So a forged or damaged blob cannot become a decompression bomb.
 */
import { CairnError } from '../errors.js';
import { lz4CompressTransient, lz4DecompressTransient } from './lz4.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

/** How a blob's bytes are stored. */
export type Compression = 'none' | 'lz4' | 'zstd';

/** The on-disk id of each {@link Compression}. Append only: never renumber. */
export const COMPRESSION_IDS: Readonly<Record<Compression, number>> = Object.freeze({ none: 0, lz4: 1, zstd: 2 });

const BY_ID: readonly Compression[] = ['none', 'lz4', 'zstd'];

/** Default zstd level: zstd's own default, a good speed/ratio balance for backups. */
export const DEFAULT_ZSTD_LEVEL = 3;

/**
 * Default ceiling on a blob's raw length (128 MiB) for {@link decompressBlob}: far above any chunk
 * or tree blob Cairn writes, far below what would hurt a small machine.
 */
export const DEFAULT_MAX_RAW_LENGTH = 128 * 1024 * 1024;

/** A blob as stored: how it is compressed, and the stored bytes. */
export interface CompressedBlob {
  compression: Compression;
  data: Uint8Array;
}

/** The on-disk id of `compression`. */
export function compressionId(compression: Compression): number {
  const id = BY_ID.indexOf(compression);
  if (id < 0) {
    throw new CairnError('INVALID_ARGUMENT', `unknown compression '${String(compression)}'`, {
      details: { field: 'compression' },
    });
  }
  return id;
}

/** The {@link Compression} an on-disk id stands for; `UNSUPPORTED_ALGORITHM` for an unknown id. */
export function compressionFromId(id: number): Compression {
  const compression = Number.isInteger(id) ? BY_ID[id] : undefined;
  if (compression === undefined) {
    throw new CairnError(
      'UNSUPPORTED_ALGORITHM',
      `compression id ${id} is unknown to this version of Cairn (known: 0 none, 1 lz4, 2 zstd); upgrade Cairn`,
      { details: { field: 'compression', id } },
    );
  }
  return compression;
}

function checkZstdLevel(level: number | undefined): number {
  if (level === undefined) return DEFAULT_ZSTD_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new CairnError('INVALID_ARGUMENT', `zstd level must be an integer from 1 to 22, got ${level}`, {
      details: { field: 'level' },
    });
  }
  return level;
}

/**
 * Compresses one blob with `algo` (`level` applies to zstd only; default 3). Returns the raw bytes
 * themselves with compression `'none'` when the compressed form would not be smaller.
 * Throws `UNSUPPORTED_ALGORITHM` for zstd when the runtime has none (see `zstdAvailable`).
 */
export function compressBlob(raw: Uint8Array, algo: Compression, level?: number): CompressedBlob {
  const packed = compressBlobTransient(raw, algo, level);
  return packed.compression === 'lz4' ? { compression: 'lz4', data: packed.data.slice() } : packed;
}

/**
 * {@link compressBlob}, except that LZ4 output is a view of the thread's codec memory, valid until
 * the next LZ4 call on this thread (internal: for callers that seal the bytes right away).
 */
export function compressBlobTransient(raw: Uint8Array, algo: Compression, level?: number): CompressedBlob {
  if (!(raw instanceof Uint8Array)) {
    throw new CairnError('INVALID_ARGUMENT', 'compressBlob: raw must be a Uint8Array', { details: { field: 'raw' } });
  }
  // LZ4's size prefix is 32 bits; the repository format records blob sizes within that as well.
  if (raw.length > 0xffff_ffff) {
    throw new CairnError('INVALID_ARGUMENT', `compressBlob: ${raw.length} bytes is above the 4 GiB blob limit`, {
      details: { field: 'raw' },
    });
  }
  let data: Uint8Array;
  switch (algo) {
    case 'none':
      return { compression: 'none', data: raw };
    case 'lz4':
      data = lz4CompressTransient(raw);
      break;
    case 'zstd':
      data = zstdCompress(raw, checkZstdLevel(level));
      break;
    default:
      throw new CairnError('INVALID_ARGUMENT', `compressBlob: unknown compression '${String(algo)}'`, {
        details: { field: 'algo' },
      });
  }
  if (data.length >= raw.length) return { compression: 'none', data: raw };
  return { compression: algo, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Restores a blob stored as `data` with `compression`, whose raw length is `rawLength` (from the
 * blob's authenticated header). Refuses, before allocating, a `rawLength` above `maxRawLength`
 * (default {@link DEFAULT_MAX_RAW_LENGTH}) or disagreeing with the size recorded inside `data`;
 * checks the decoded length after. Every refusal is `CORRUPT_DATA` naming the field.
 * For `'none'`, returns `data` itself.
 */
export function decompressBlob(
  data: Uint8Array,
  compression: Compression,
  rawLength: number,
  maxRawLength: number = DEFAULT_MAX_RAW_LENGTH,
): Uint8Array {
  const raw = decompressBlobTransient(data, compression, rawLength, maxRawLength);
  return compression === 'lz4' ? raw.slice() : raw;
}

/**
 * {@link decompressBlob}, except that LZ4 output is a view of the thread's codec memory, valid
 * until the next LZ4 call on this thread (internal: for callers that write or hash it right away).
 */
export function decompressBlobTransient(
  data: Uint8Array,
  compression: Compression,
  rawLength: number,
  maxRawLength: number = DEFAULT_MAX_RAW_LENGTH,
): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new CairnError('INVALID_ARGUMENT', 'decompressBlob: data must be a Uint8Array', {
      details: { field: 'data' },
    });
  }
  if (!Number.isSafeInteger(rawLength) || rawLength < 0) {
    throw new CairnError('CORRUPT_DATA', `blob: declared raw length ${rawLength} is not a byte count`, {
      details: { field: 'rawLength' },
    });
  }
  if (rawLength > maxRawLength) {
    throw new CairnError('CORRUPT_DATA', `blob: declared raw length ${rawLength} exceeds the limit ${maxRawLength}`, {
      details: { field: 'rawLength', rawLength, maxRawLength },
    });
  }
  let out: Uint8Array;
  switch (compression) {
    case 'none':
      if (data.length !== rawLength) {
        throw new CairnError('CORRUPT_DATA', `blob: stored raw with ${data.length} bytes, header says ${rawLength}`, {
          details: { field: 'rawLength' },
        });
      }
      return data;
    case 'lz4':
      out = lz4DecompressTransient(data, rawLength);
      break;
    case 'zstd':
      out = zstdDecompress(data, rawLength);
      break;
    default:
      throw new CairnError('INVALID_ARGUMENT', `decompressBlob: unknown compression '${String(compression)}'`, {
        details: { field: 'compression' },
      });
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
