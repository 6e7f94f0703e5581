/**
 * Reads packs: the header from the tail with at most two range reads, single blobs by range, and
 * whole-pack integrity (id = BLAKE3 of the bytes) without keys. Every length read from the pack is
 * checked against the pack's size before it is used to read or allocate.
 */
import { CairnError } from '../errors.js';
import { blake3 } from '../hashing/index.js';
import { type BlobKeys, openBlob } from './blob.js';
import { bytesEqual, toHex } from './bytes.js';
import { decodePackHeader, decodePackTrailer, PACK_TRAILER_LENGTH, type PackEntry } from './pack-header.js';

/** Reads `length` bytes at `offset` of one object. */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

/** How much of a pack's tail to read speculatively: most headers fit, saving a round trip. */
const TAIL_GUESS = 64 * 1024;

/**
 * Reads and decodes a pack's header through range reads.
 * Throws CORRUPT_DATA for malformed packs and AUTH_FAILED for altered headers.
 */
export async function readPackHeader(dataKey: Uint8Array, read: RangeReader, packSize: number): Promise<PackEntry[]> {
  if (!Number.isSafeInteger(packSize) || packSize < PACK_TRAILER_LENGTH) {
    throw new CairnError('CORRUPT_DATA', `pack of ${packSize} bytes is too small to be a pack`);
  }
  const guess = Math.min(packSize, TAIL_GUESS);
  const tail = await read(packSize - guess, guess);
  if (tail.length !== guess) throw new CairnError('CORRUPT_DATA', 'pack is shorter than its reported size');
  const headerLength = decodePackTrailer(tail.subarray(guess - PACK_TRAILER_LENGTH), packSize);
  const need = headerLength + PACK_TRAILER_LENGTH;
  const sealedHeader =
    need <= guess
      ? tail.subarray(guess - need, guess - PACK_TRAILER_LENGTH)
      : await read(packSize - need, headerLength);
  if (sealedHeader.length !== headerLength) throw new CairnError('CORRUPT_DATA', 'pack header is truncated');
  return decodePackHeader(dataKey, sealedHeader, packSize);
}

/** Decodes the header of a pack held entirely in memory. */
export function parsePackHeader(dataKey: Uint8Array, pack: Uint8Array): PackEntry[] {
  if (pack.length < PACK_TRAILER_LENGTH) throw new CairnError('CORRUPT_DATA', 'pack is too small');
  const headerLength = decodePackTrailer(pack.subarray(pack.length - PACK_TRAILER_LENGTH), pack.length);
  const start = pack.length - PACK_TRAILER_LENGTH - headerLength;
  return decodePackHeader(dataKey, pack.subarray(start, pack.length - PACK_TRAILER_LENGTH), pack.length);
}

/** Reads, authenticates and verifies one blob of a pack by range. */
export async function readPackBlob(keys: BlobKeys, read: RangeReader, entry: PackEntry): Promise<Uint8Array> {
  const sealed = await read(entry.offset, entry.length);
  if (sealed.length !== entry.length) {
    throw new CairnError('CORRUPT_DATA', `blob ${toHex(entry.id)}: pack ended before the blob did`);
  }
  return openBlob(keys, entry, sealed);
}

/** The pack id of some bytes (BLAKE3-256 of all of them). */
export function packId(pack: Uint8Array): Uint8Array {
  return blake3(pack);
}

/** True when `pack` hashes to `idHex`: integrity check that needs no keys. */
export function packMatchesId(pack: Uint8Array, idHex: string): boolean {
  return toHex(packId(pack)) === idHex;
}

/** Throws CORRUPT_DATA unless `pack` hashes to `id`. */
export function assertPackId(pack: Uint8Array, id: Uint8Array): void {
  if (!bytesEqual(packId(pack), id)) {
    throw new CairnError('CORRUPT_DATA', `pack ${toHex(id)}: bytes do not match the pack id`, {
      details: { packId: toHex(id) },
    });
  }
}
