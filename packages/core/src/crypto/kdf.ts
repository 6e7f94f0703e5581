/**
 * Password-based key derivation for key files: scrypt (node:crypto, default) or Argon2id
 * (hash-wasm, pure WebAssembly). Both turn a password and a random salt into the 32-byte key that
 * seals a repository's master keys. Parameters are checked against fixed bounds both when a key
 * file is written and when one is read, so a crafted key file cannot ask for unbounded memory.
 */

import { randomFillSync, scrypt, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { argon2id as Argon2idFn } from 'hash-wasm';
import { CairnError, type ErrorCode } from '../errors.js';
import { bytesEqual } from '../format/bytes.js';

/** scrypt cost parameters (RFC 7914): N is the CPU/memory cost (a power of two). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Argon2id cost parameters (RFC 9106). */
export interface Argon2idParams {
  /** Memory in KiB. */
  memoryKiB: number;
  /** Passes over memory (t). */
  iterations: number;
  /** Lanes (p). hash-wasm runs lanes one after another; the result is the standard one. */
  parallelism: number;
}

/** A KDF with its parameters and salt, as recorded in a key file. */
export type KdfParams = ({ algorithm: 'scrypt' } & ScryptParams) | ({ algorithm: 'argon2id' } & Argon2idParams);

/** KDF parameters together with the salt. */
export type KdfSpec = KdfParams & { salt: Uint8Array };

/** Default scrypt cost: N=2^17, r=8, p=1 (128 MiB, a few hundred ms on a current core). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** Default Argon2id cost: RFC 9106's second recommended option (64 MiB, t=3, p=4). */
export const DEFAULT_ARGON2ID: Readonly<Argon2idParams> = Object.freeze({
  memoryKiB: 64 * 1024,
  iterations: 3,
  parallelism: 4,
});

/** Largest memory any KDF may be asked for (bytes): 1 GiB. */
export const MAX_KDF_MEMORY = 1024 ** 3;
/** Salt length written by new key files (bytes); 16..64 are accepted. */
export const SALT_LENGTH = 32;
/** Length of the derived key (bytes). */
export const DERIVED_KEY_LENGTH = 32;

function intIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Checks `kdf` against Cairn's bounds and returns it. Throws `code` (INVALID_ARGUMENT when
 * writing, CORRUPT_DATA when reading a key file) naming the field that is out of range, and
 * `UNSUPPORTED_ALGORITHM` for an unknown algorithm.
 */
export function checkKdf(kdf: KdfSpec, code: ErrorCode): KdfSpec {
  const fail = (field: string, rule: string): never => {
    throw new CairnError(code, `key derivation: ${field} ${rule}`, { details: { field: `kdf.${field}` } });
  };
  if (kdf.algorithm !== 'scrypt' && kdf.algorithm !== 'argon2id') {
    throw new CairnError(
      'UNSUPPORTED_ALGORITHM',
      `key derivation: algorithm ${JSON.stringify((kdf as { algorithm: unknown }).algorithm)} is not supported (scrypt, argon2id)`,
      { details: { field: 'kdf.algorithm' } },
    );
  }
  if (!(kdf.salt instanceof Uint8Array) || kdf.salt.length < 16 || kdf.salt.length > 64) {
    fail('salt', 'must be 16 to 64 bytes');
  }
  if (kdf.algorithm === 'scrypt') {
    if (!intIn(kdf.N, 2 ** 10, 2 ** 24) || (kdf.N & (kdf.N - 1)) !== 0)
      fail('N', 'must be a power of two from 2^10 to 2^24');
    if (!intIn(kdf.r, 1, 32)) fail('r', 'must be an integer from 1 to 32');
    if (!intIn(kdf.p, 1, 16)) fail('p', 'must be an integer from 1 to 16');
    if (128 * kdf.N * kdf.r > MAX_KDF_MEMORY) fail('N', `with r=${kdf.r} needs more than ${MAX_KDF_MEMORY} bytes`);
  } else {
    if (!intIn(kdf.parallelism, 1, 16)) fail('parallelism', 'must be an integer from 1 to 16');
    if (!intIn(kdf.iterations, 1, 64)) fail('iterations', 'must be an integer from 1 to 64');
    if (!intIn(kdf.memoryKiB, 8 * kdf.parallelism, MAX_KDF_MEMORY / 1024)) {
      fail('memoryKiB', `must be an integer from 8 x parallelism to ${MAX_KDF_MEMORY / 1024}`);
    }
  }
  return kdf;
}

/** A fresh random salt. */
export function randomSalt(): Uint8Array {
  return randomFillSync(new Uint8Array(SALT_LENGTH));
}

/** The bytes of a password: strings are NFC-normalised UTF-8, so composed and decomposed input agree. */
export function passwordBytes(password: string | Uint8Array): Uint8Array {
  if (typeof password === 'string') return new TextEncoder().encode(password.normalize('NFC'));
  if (password instanceof Uint8Array) return password;
  throw new CairnError('INVALID_ARGUMENT', 'password must be a string or a Uint8Array', {
    details: { field: 'password' },
  });
}

function scryptAsync(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const { N, r, p } = params;
  // OpenSSL needs 128*r*(N+2) bytes for V plus 128*r*p for B; leave headroom for its bookkeeping.
  const maxmem = 128 * r * (N + 2) + 128 * r * p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, DERIVED_KEY_LENGTH, { N, r, p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
    );
  });
}

let argon2id: typeof Argon2idFn | undefined;

function loadArgon2id(): typeof Argon2idFn {
  if (argon2id) return argon2id;
  try {
    // Only hash-wasm's Argon2 bundle, not its whole index of hash functions.
    const mod = createRequire(import.meta.url)('hash-wasm/dist/argon2.umd.min.js') as { argon2id: typeof Argon2idFn };
    argon2id = mod.argon2id;
  } catch (cause) {
    throw new CairnError('UNSUPPORTED_ALGORITHM', 'key derivation: argon2id (hash-wasm) failed to load', { cause });
  }
  return argon2id;
}

/** Derivations started before they are asked for ({@link startKeyDerivation}), each taken once. */
const started: { pw: Uint8Array; kdf: KdfSpec & { algorithm: 'scrypt' }; key: Promise<Uint8Array> }[] = [];
/** Started derivations held at once, at most: each holds scrypt's memory while it runs. */
const MAX_STARTED = 2;

/**
 * Starts deriving the key for `password` under `kdf` (whose bounds must be checked) now, so the
 * derivation runs while the caller does something else: the `cairn` executable starts it before
 * loading its code. The next {@link deriveKeyFromPassword} with the same password and parameters
 * takes the result instead of deriving again; any other call derives as usual. Only scrypt can
 * start early (it runs on libuv's thread pool; Argon2id would hold the calling thread). Returns
 * whether a derivation was started.
 */
export function startKeyDerivation(password: string | Uint8Array, kdf: KdfSpec): boolean {
  if (kdf.algorithm !== 'scrypt' || started.length >= MAX_STARTED) return false;
  const pw = passwordBytes(password).slice();
  const key = scryptAsync(pw, kdf.salt, kdf);
  key.catch(() => {}); // awaited by whoever takes it; never an unhandled rejection meanwhile
  started.push({ pw, kdf: { ...kdf, salt: kdf.salt.slice() }, key });
  return true;
}

/** Derivations started by `deriveKeyAhead` and not taken by an opening yet (diagnostics, tests). */
export function startedKeyDerivations(): number {
  return started.length;
}

/** Takes the started derivation of `pw` under `kdf`, if there is one. */
function takeStarted(pw: Uint8Array, kdf: KdfSpec): Promise<Uint8Array> | undefined {
  if (kdf.algorithm !== 'scrypt') return undefined;
  const i = started.findIndex(
    (s) =>
      s.kdf.N === kdf.N &&
      s.kdf.r === kdf.r &&
      s.kdf.p === kdf.p &&
      bytesEqual(s.kdf.salt, kdf.salt) &&
      s.pw.length === pw.length &&
      timingSafeEqual(s.pw, pw),
  );
  if (i < 0) return undefined;
  const [s] = started.splice(i, 1);
  const wipe = () => s!.pw.fill(0); // once scrypt has finished with it
  s!.key.then(wipe, wipe);
  return s!.key;
}

/**
 * Derives the 32-byte key-file key from `password` under `kdf` (whose bounds must be checked).
 * `onStarted` is called once the derivation is under way.
 */
export async function deriveKeyFromPassword(
  password: string | Uint8Array,
  kdf: KdfSpec,
  onStarted?: () => void,
): Promise<Uint8Array> {
  const pw = passwordBytes(password);
  const early = takeStarted(pw, kdf);
  if (early) {
    onStarted?.();
    return early;
  }
  if (kdf.algorithm === 'scrypt') {
    const key = scryptAsync(pw, kdf.salt, kdf);
    onStarted?.(); // scrypt runs on libuv's thread pool: this thread is free until it ends
    return key;
  }
  onStarted?.();
  return loadArgon2id()({
    password: pw,
    salt: kdf.salt,
    iterations: kdf.iterations,
    parallelism: kdf.parallelism,
    memorySize: kdf.memoryKiB,
    hashLength: DERIVED_KEY_LENGTH,
    outputType: 'binary',
  });
}

/**
 * scrypt parameters (r=8, p=1) costing about `targetMs` on this machine, N a power of two from
 * 2^15 to 2^20. Measures one run at N=2^14 (about 15-40 ms) and scales linearly in N.
 */
export async function calibrateScrypt(targetMs = 500): Promise<ScryptParams> {
  const probeN = 2 ** 14;
  const t0 = performance.now();
  await scryptAsync(new Uint8Array(8), new Uint8Array(16), { N: probeN, r: 8, p: 1 });
  const msPerN = (performance.now() - t0) / probeN;
  let N = 2 ** 15;
  while (N < 2 ** 20 && 2 * N * msPerN <= targetMs) N *= 2;
  return { N, r: 8, p: 1 };
}
