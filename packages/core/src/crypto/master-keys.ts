/**
 * The master key set of a repository, generated once at `init` and wrapped by every key file, and
 * its exact, versioned binary encoding (the plaintext a key file seals).
 *
 * Encoding v1, 105 bytes, no optional parts:
 *   byte 0        version (1)
 *   bytes 1-32    dataKey      XChaCha20-Poly1305 key of packs, indexes, snapshots, config
 *   bytes 33-64   idKey        BLAKE3 key of chunk ids
 *   bytes 65-96   macKey       key for MACs over repository metadata
 *   bytes 97-104  chunkerSeed  u64 little-endian, seeds the FastCDC gear table
 * A decoder accepts exactly this length for this version, nothing more or less.
 */
import { randomFillSync } from 'node:crypto';
import { CairnError } from '../errors.js';

/** The secret keys of one repository. */
export interface MasterKeys {
  /** 32 bytes: encrypts every object in the repository (XChaCha20-Poly1305). */
  dataKey: Uint8Array;
  /** 32 bytes: keyed-BLAKE3 key of chunk ids, so ids leak nothing about content. */
  idKey: Uint8Array;
  /** 32 bytes: authenticates repository metadata. */
  macKey: Uint8Array;
  /** 64-bit unsigned seed of the FastCDC gear table, so chunk sizes do not fingerprint files. */
  chunkerSeed: bigint;
}

/** Version of the master key encoding written by {@link encodeMasterKeys}. */
export const MASTER_KEYS_VERSION = 1;
/** Length in bytes of the v1 encoding. */
export const MASTER_KEYS_LENGTH = 1 + 32 * 3 + 8;

const KEY_FIELDS = ['dataKey', 'idKey', 'macKey'] as const;
const U64_MAX = (1n << 64n) - 1n;

/** A new master key set from the operating system's CSPRNG. */
export function generateMasterKeys(): MasterKeys {
  const seed = randomFillSync(new Uint8Array(8));
  return {
    dataKey: randomFillSync(new Uint8Array(32)),
    idKey: randomFillSync(new Uint8Array(32)),
    macKey: randomFillSync(new Uint8Array(32)),
    chunkerSeed: new DataView(seed.buffer).getBigUint64(0, true),
  };
}

/** Encodes `keys` (v1). Throws `INVALID_ARGUMENT` naming the field that is the wrong size or type. */
export function encodeMasterKeys(keys: MasterKeys): Uint8Array {
  const out = new Uint8Array(MASTER_KEYS_LENGTH);
  out[0] = MASTER_KEYS_VERSION;
  KEY_FIELDS.forEach((field, i) => {
    const key = keys[field];
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
      throw new CairnError('INVALID_ARGUMENT', `master keys: ${field} must be 32 bytes, got ${got}`, {
        details: { field },
      });
    }
    out.set(key, 1 + 32 * i);
  });
  const seed = keys.chunkerSeed;
  if (typeof seed !== 'bigint' || seed < 0n || seed > U64_MAX) {
    throw new CairnError('INVALID_ARGUMENT', `master keys: chunkerSeed must be a bigint in 0..2^64-1, got ${seed}`, {
      details: { field: 'chunkerSeed' },
    });
  }
  new DataView(out.buffer).setBigUint64(97, seed, true);
  return out;
}

/**
 * Decodes bytes written by {@link encodeMasterKeys}. The result owns fresh copies of the keys.
 * Throws `UNSUPPORTED_VERSION` for a version this build does not know, `CORRUPT_DATA` for a wrong length.
 */
export function decodeMasterKeys(bytes: Uint8Array): MasterKeys {
  if (bytes.length < 1) throw new CairnError('CORRUPT_DATA', 'master keys: empty', { details: { field: 'version' } });
  const version = bytes[0]!;
  if (version !== MASTER_KEYS_VERSION) {
    throw new CairnError(
      'UNSUPPORTED_VERSION',
      `master keys: encoding version ${version} (byte 0) is not supported by this build (knows ${MASTER_KEYS_VERSION}); upgrade Cairn`,
      { details: { field: 'version', version } },
    );
  }
  if (bytes.length !== MASTER_KEYS_LENGTH) {
    throw new CairnError(
      'CORRUPT_DATA',
      `master keys: v${version} is ${MASTER_KEYS_LENGTH} bytes, got ${bytes.length}`,
      { details: { field: 'length', expected: MASTER_KEYS_LENGTH, actual: bytes.length } },
    );
  }
  return {
    dataKey: bytes.slice(1, 33),
    idKey: bytes.slice(33, 65),
    macKey: bytes.slice(65, 97),
    chunkerSeed: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(97, true),
  };
}
