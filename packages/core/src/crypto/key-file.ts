/**
 * Key files (`keys/<id>` in a repository): a repository's master keys sealed under a password.
 * A key file is a small versioned JSON document, readable by a human like restic's:
 *
 *   { "format": "cairn-key", "version": 1, "created": ISO-8601, "host": ..., "username": ...,
 *     "kdf": { "algorithm": "scrypt", "N", "r", "p", "salt": base64 }   (or argon2id: memoryKiB,
 *                                                     iterations, parallelism, salt)
 *     "cipher": "xchacha20-poly1305", "nonce": base64 (24 bytes), "sealedKeys": base64 }
 *
 * `sealedKeys` is XChaCha20-Poly1305 of the master-key encoding (see master-keys.ts) under the key
 * the KDF derives from the password, with `nonce` as its nonce and every other field as associated
 * data, so nothing in the file can be altered without the file failing to open. A wrong password is `WRONG_PASSWORD`
 * after one KDF run and one tag check. Readers check every field (type, range, exact length)
 * before using it and name the field when refusing.
 */
import { hostname, userInfo } from 'node:os';
import { CairnError } from '../errors.js';
import {
  type Argon2idParams,
  checkKdf,
  DEFAULT_ARGON2ID,
  DEFAULT_SCRYPT,
  deriveKeyFromPassword,
  type KdfParams,
  type KdfSpec,
  passwordBytes,
  randomSalt,
  type ScryptParams,
  startKeyDerivation,
} from './kdf.js';
import { decodeMasterKeys, encodeMasterKeys, type MasterKeys } from './master-keys.js';
import {
  randomNonce,
  XCHACHA_NONCE_LENGTH,
  XCHACHA_TAG_LENGTH,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
} from './xchacha20poly1305.js';

/** Key file format version written by this build. */
export const KEY_FILE_VERSION = 1;
/** Largest key file accepted (bytes); real ones are about 500 bytes. */
export const MAX_KEY_FILE_SIZE = 64 * 1024;

const FORMAT = 'cairn-key';
const CIPHER = 'xchacha20-poly1305';
const FIELDS = ['format', 'version', 'created', 'host', 'username', 'kdf', 'cipher', 'nonce', 'sealedKeys'];

/** Options of {@link createKeyFile}. */
export interface KeyFileOptions {
  /** Password KDF (default scrypt). */
  kdf?: 'scrypt' | 'argon2id';
  /** scrypt cost (default N=2^17, r=8, p=1); see `calibrateScrypt`. */
  scrypt?: ScryptParams;
  /** Argon2id cost (default 64 MiB, t=3, p=4). */
  argon2id?: Argon2idParams;
  /** Recorded for people listing keys (default: this machine's host name). */
  host?: string;
  /** Recorded for people listing keys (default: the current OS user). */
  username?: string;
  /** Recorded creation time (default: now). */
  createdAt?: Date;
}

/** The readable, non-secret part of a key file. */
export interface KeyFileInfo {
  /** Key file format version. */
  version: number;
  /** Creation time as recorded: ISO-8601, UTC. */
  created: string;
  host: string;
  username: string;
  /** The KDF and its cost in words, e.g. `scrypt N=131072 r=8 p=1`. */
  kdf: string;
  /** The KDF and its cost as parameters (the salt is omitted). */
  kdfParams: KdfParams;
}

/** A parsed, fully checked key file. */
interface ParsedKeyFile {
  info: KeyFileInfo;
  kdf: KdfSpec;
  nonce: Uint8Array;
  sealedKeys: Uint8Array;
  aad: Uint8Array;
}

function corrupt(field: string, problem: string): CairnError {
  return new CairnError('CORRUPT_DATA', `key file: ${field}: ${problem}`, { details: { field } });
}

const toBase64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Strict base64: canonical padding and alphabet, and the decoded length within [min, max]. */
function fromBase64(value: unknown, field: string, min: number, max: number): Uint8Array {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw corrupt(field, 'not a base64 string');
  }
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  if (toBase64(bytes) !== value) throw corrupt(field, 'not canonical base64');
  if (bytes.length < min || bytes.length > max) {
    throw corrupt(
      field,
      min === max ? `must be ${min} bytes, got ${bytes.length}` : `${bytes.length} bytes is not in ${min}..${max}`,
    );
  }
  return bytes;
}

/** The KDF and its cost without the salt, in a fixed field order. */
function kdfCost(kdf: KdfSpec): KdfParams {
  return kdf.algorithm === 'scrypt'
    ? { algorithm: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p }
    : { algorithm: 'argon2id', memoryKiB: kdf.memoryKiB, iterations: kdf.iterations, parallelism: kdf.parallelism };
}

/** The KDF fields as written to the file and bound into the associated data. */
function kdfFields(kdf: KdfSpec): Record<string, string | number> {
  return { ...kdfCost(kdf), salt: toBase64(kdf.salt) };
}

/** Associated data: every field but the sealed keys, in a fixed order (so parsing cannot reorder it). */
function associatedData(version: number, created: string, host: string, username: string, kdf: KdfSpec): Uint8Array {
  const kdfValues = Object.values(kdfFields(kdf));
  return new TextEncoder().encode(JSON.stringify([FORMAT, version, created, host, username, ...kdfValues, CIPHER]));
}

/** True for exactly the form `Date.prototype.toISOString` writes. */
function isIsoDate(value: string): boolean {
  const t = Date.parse(value);
  return !Number.isNaN(t) && new Date(t).toISOString() === value;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return ''; // no passwd entry (some containers)
  }
}

/**
 * Seals `master` under `password` into a new key file (UTF-8 JSON bytes). Takes one KDF run
 * (about 0.2-0.5 s at the default cost). Throws `INVALID_ARGUMENT` for an empty password,
 * out-of-range KDF parameters or malformed master keys.
 */
export async function createKeyFile(
  master: MasterKeys,
  password: string | Uint8Array,
  opts: KeyFileOptions = {},
): Promise<Uint8Array> {
  const pw = passwordBytes(password);
  if (pw.length === 0) {
    throw new CairnError('INVALID_ARGUMENT', 'key file: the password must not be empty', {
      details: { field: 'password' },
    });
  }
  const algorithm = opts.kdf ?? 'scrypt';
  const salt = randomSalt();
  const kdf = checkKdf(
    algorithm === 'argon2id'
      ? { algorithm, ...(opts.argon2id ?? DEFAULT_ARGON2ID), salt }
      : { algorithm, ...(opts.scrypt ?? DEFAULT_SCRYPT), salt },
    'INVALID_ARGUMENT',
  );
  const createdAt = opts.createdAt ?? new Date();
  if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime())) {
    throw new CairnError('INVALID_ARGUMENT', 'key file: createdAt must be a valid Date', {
      details: { field: 'createdAt' },
    });
  }
  const created = createdAt.toISOString();
  const host = opts.host ?? hostname();
  const username = opts.username ?? currentUser();

  const plaintext = encodeMasterKeys(master);
  const key = await deriveKeyFromPassword(pw, kdf);
  const nonce = randomNonce();
  const aad = associatedData(KEY_FILE_VERSION, created, host, username, kdf);
  let sealed: Uint8Array;
  try {
    sealed = xchacha20poly1305Seal(key, nonce, plaintext, aad);
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
  const doc = {
    format: FORMAT,
    version: KEY_FILE_VERSION,
    created,
    host,
    username,
    kdf: kdfFields(kdf),
    cipher: CIPHER,
    nonce: toBase64(nonce),
    sealedKeys: toBase64(sealed),
  };
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
}

function parseKdf(value: unknown): KdfSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('kdf', 'not an object');
  const k = value as Record<string, unknown>;
  if (typeof k.algorithm !== 'string') throw corrupt('kdf.algorithm', 'missing or not a string');
  const expected =
    k.algorithm === 'scrypt'
      ? ['algorithm', 'N', 'r', 'p', 'salt']
      : k.algorithm === 'argon2id'
        ? ['algorithm', 'memoryKiB', 'iterations', 'parallelism', 'salt']
        : undefined;
  if (!expected) return checkKdf(k as unknown as KdfSpec, 'CORRUPT_DATA'); // throws UNSUPPORTED_ALGORITHM
  for (const field of Object.keys(k)) if (!expected.includes(field)) throw corrupt(`kdf.${field}`, 'unknown field');
  const salt = fromBase64(k.salt, 'kdf.salt', 16, 64);
  return checkKdf({ ...(k as unknown as KdfParams), salt }, 'CORRUPT_DATA');
}

/** Parses and checks every field of a key file; no password needed. */
function parseKeyFile(bytes: Uint8Array): ParsedKeyFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new CairnError('INVALID_ARGUMENT', 'key file: bytes must be a Uint8Array', { details: { field: 'bytes' } });
  }
  if (bytes.length > MAX_KEY_FILE_SIZE) throw corrupt('file', `${bytes.length} bytes, more than ${MAX_KEY_FILE_SIZE}`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new CairnError('CORRUPT_DATA', 'key file: not a UTF-8 JSON document', { cause, details: { field: 'file' } });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('file', 'not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT) throw corrupt('format', `expected "${FORMAT}": this is not a Cairn key file`);
  if (typeof d.version !== 'number' || !Number.isInteger(d.version)) throw corrupt('version', 'not an integer');
  if (d.version !== KEY_FILE_VERSION) {
    throw new CairnError(
      'UNSUPPORTED_VERSION',
      `key file: version ${d.version} is not supported by this build (knows ${KEY_FILE_VERSION}); upgrade Cairn`,
      { details: { field: 'version', version: d.version } },
    );
  }
  for (const field of Object.keys(d)) if (!FIELDS.includes(field)) throw corrupt(field, 'unknown field');
  const { created, host, username } = d;
  if (typeof created !== 'string' || !isIsoDate(created)) throw corrupt('created', 'not an ISO-8601 UTC date');
  if (typeof host !== 'string') throw corrupt('host', 'not a string');
  if (typeof username !== 'string') throw corrupt('username', 'not a string');
  const kdf = parseKdf(d.kdf);
  if (d.cipher !== CIPHER) {
    throw new CairnError(
      'UNSUPPORTED_ALGORITHM',
      // Only a string is shown: JSON.stringify of deeply nested arrays throws a RangeError (found by fuzzing).
      `key file: cipher ${typeof d.cipher === 'string' ? JSON.stringify(d.cipher) : typeof d.cipher} is not supported (${CIPHER})`,
      {
        details: { field: 'cipher' },
      },
    );
  }
  const nonce = fromBase64(d.nonce, 'nonce', XCHACHA_NONCE_LENGTH, XCHACHA_NONCE_LENGTH);
  const sealedKeys = fromBase64(d.sealedKeys, 'sealedKeys', XCHACHA_TAG_LENGTH + 1, 4096);
  const kdfParams = kdfCost(kdf);
  const summary = Object.entries(kdfParams)
    .map(([name, value]) => (name === 'algorithm' ? value : `${name}=${value}`))
    .join(' ');
  return {
    info: { version: d.version, created, host, username, kdf: summary, kdfParams },
    kdf,
    nonce,
    sealedKeys,
    aad: associatedData(d.version, created, host, username, kdf),
  };
}

/**
 * The non-secret facts of a key file (creation time, host, user, KDF) without the password, e.g.
 * for listing a repository's keys. Throws like {@link openKeyFile} for a malformed file.
 */
export function readKeyFileInfo(bytes: Uint8Array): KeyFileInfo {
  return parseKeyFile(bytes).info;
}

/**
 * Starts deriving the key that opens this key file with `password`, so that a later
 * {@link openKeyFile} of the same file with the same password finds it done or under way instead
 * of starting it then. A program that knows its repository and password before it has loaded
 * (the `cairn` executable) overlaps the derivation, ~0.2 s of scrypt, with its own start; import
 * it from `@cairn/core/startup`, which loads little else. Returns false, starting nothing, when
 * the file cannot be read as a key file or its KDF cannot run in the background (Argon2id): the
 * opening then reports or derives as usual.
 */
export function deriveKeyAhead(bytes: Uint8Array, password: string | Uint8Array): boolean {
  let kdf: KdfSpec;
  try {
    kdf = parseKeyFile(bytes).kdf;
  } catch {
    return false;
  }
  return startKeyDerivation(password, kdf);
}

/**
 * Opens a key file with `password` and returns the master keys. Throws `WRONG_PASSWORD` when the
 * password does not open it (or the file was altered: the two cannot be told apart),
 * `CORRUPT_DATA` for a malformed file, `UNSUPPORTED_VERSION` for an unknown format version and
 * `UNSUPPORTED_ALGORITHM` for an unknown KDF or cipher.
 */
export async function openKeyFile(
  bytes: Uint8Array,
  password: string | Uint8Array,
  options: { onKeyDerivation?: () => void } = {},
): Promise<{ master: MasterKeys; info: KeyFileInfo }> {
  const parsed = parseKeyFile(bytes);
  const key = await deriveKeyFromPassword(password, parsed.kdf, options.onKeyDerivation);
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305Open(key, parsed.nonce, parsed.sealedKeys, parsed.aad);
  } catch (cause) {
    throw new CairnError(
      'WRONG_PASSWORD',
      'wrong password for this key file (or the key file was altered); check the password and try again',
      { cause },
    );
  } finally {
    key.fill(0);
  }
  try {
    return { master: decodeMasterKeys(plaintext), info: parsed.info };
  } finally {
    plaintext.fill(0);
  }
}
