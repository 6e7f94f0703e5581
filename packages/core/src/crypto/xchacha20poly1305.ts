/**
 * XChaCha20-Poly1305 AEAD (draft-irtf-cfrg-xchacha), the cipher of every encrypted object in a
 * repository. The 24-byte nonce is large enough to pick at random for every message.
 *
 * Construction: subkey = HChaCha20(key, nonce[0..16]) (hchacha20.ts), then RFC 8439
 * ChaCha20-Poly1305 from node:crypto (OpenSSL, SIMD) under the subkey with the 12-byte nonce
 * 0x00000000 || nonce[16..24]. Sealed output is ciphertext || 16-byte tag. Opening verifies the
 * tag before any plaintext is returned; every failure is `AUTH_FAILED`, and plaintext decrypted
 * before the failed check is wiped.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { CairnError } from '../errors.js';
import { hchacha20Into } from './hchacha20.js';

/** Key length in bytes. */
export const XCHACHA_KEY_LENGTH = 32;
/** Nonce length in bytes. */
export const XCHACHA_NONCE_LENGTH = 24;
/** Poly1305 tag length in bytes, appended to the ciphertext. */
export const XCHACHA_TAG_LENGTH = 16;

const EMPTY = new Uint8Array(0);

function checkBytes(value: unknown, field: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CairnError('INVALID_ARGUMENT', `xchacha20poly1305: ${field} must be a Uint8Array`, {
      details: { field },
    });
  }
  if (length !== undefined && value.length !== length) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `xchacha20poly1305: ${field} must be exactly ${length} bytes, got ${value.length}`,
      { details: { field, expected: length, actual: value.length } },
    );
  }
}

// The subkey goes into module scratch memory: small blobs come by the thousand, and an allocation
// per call costs about as much as HChaCha20 itself. Used synchronously and zeroed after each use
// (see innerParams' callers).
const SCRATCH_SUBKEY = new Uint8Array(32);

/**
 * The ChaCha20-Poly1305 key and 12-byte IV for an XChaCha20 nonce. The subkey is a view of
 * module scratch memory, valid until the next call: the caller uses it at once and zeroes it.
 */
function innerParams(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  checkBytes(key, 'key', XCHACHA_KEY_LENGTH);
  checkBytes(nonce, 'nonce', XCHACHA_NONCE_LENGTH);
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16, 24), 4);
  hchacha20Into(key, nonce, SCRATCH_SUBKEY);
  return { subkey: SCRATCH_SUBKEY, iv };
}

/** Random bytes drawn ahead (CSPRNG) and handed out 24 at a time: one system call per 170 nonces. */
const NONCE_POOL = new Uint8Array(4096 - (4096 % XCHACHA_NONCE_LENGTH));
let noncePoolUsed = NONCE_POOL.length;

/**
 * Writes a fresh random 24-byte nonce into `out` (CSPRNG bytes, each handed out once; random
 * nonces are safe with XChaCha20).
 */
export function fillRandomNonce(out: Uint8Array): Uint8Array {
  if (noncePoolUsed === NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    noncePoolUsed = 0;
  }
  out.set(NONCE_POOL.subarray(noncePoolUsed, noncePoolUsed + XCHACHA_NONCE_LENGTH));
  NONCE_POOL.fill(0, noncePoolUsed, noncePoolUsed + XCHACHA_NONCE_LENGTH);
  noncePoolUsed += XCHACHA_NONCE_LENGTH;
  return out;
}

/** A fresh random 24-byte nonce (CSPRNG); random nonces are safe with XChaCha20. */
export function randomNonce(): Uint8Array {
  return fillRandomNonce(new Uint8Array(XCHACHA_NONCE_LENGTH));
}

/**
 * Encrypts and authenticates `plaintext`, also authenticating `aad` (not encrypted).
 * Returns ciphertext || tag (plaintext length + 16 bytes). Never reuse a (key, nonce) pair.
 * Throws `INVALID_ARGUMENT` unless key is 32 bytes and nonce 24 bytes.
 */
export function xchacha20poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  checkBytes(plaintext, 'plaintext');
  // Uninitialised allocation (no zero-fill of a megabyte per blob): every byte is written.
  const out = Buffer.allocUnsafeSlow(plaintext.length + XCHACHA_TAG_LENGTH);
  xchacha20poly1305SealInto(key, nonce, plaintext, aad, out, 0);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Like {@link xchacha20poly1305Seal}, but writes ciphertext‖tag into `out` at `offset` (which must
 * have room for `plaintext.length + 16` bytes) and returns the number of bytes written. Lets the
 * backup pipeline seal many blobs into one buffer without intermediate copies.
 */
export function xchacha20poly1305SealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  checkBytes(plaintext, 'plaintext');
  checkBytes(aad, 'aad');
  checkBytes(out, 'out');
  const total = plaintext.length + XCHACHA_TAG_LENGTH;
  if (!Number.isInteger(offset) || offset < 0 || offset + total > out.length) {
    throw new CairnError('INVALID_ARGUMENT', `xchacha20poly1305: no room for ${total} bytes at offset ${offset}`);
  }
  const { subkey, iv } = innerParams(key, nonce);
  try {
    const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: XCHACHA_TAG_LENGTH });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    cipher.final(); // a stream cipher: update() returned every ciphertext byte, final() returns none
    if (body.length !== plaintext.length) throw new Error('chacha20-poly1305: short ciphertext from node:crypto');
    out.set(body, offset);
    out.set(cipher.getAuthTag(), offset + plaintext.length);
    return total;
  } finally {
    subkey.fill(0);
  }
}

/**
 * Verifies and decrypts `sealed` (ciphertext || tag) made by {@link xchacha20poly1305Seal} with
 * the same key, nonce and aad. Throws `AUTH_FAILED` if anything was altered or the key is wrong,
 * `INVALID_ARGUMENT` for wrong key/nonce sizes or `sealed` shorter than the 16-byte tag.
 */
export function xchacha20poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  checkBytes(sealed, 'sealed');
  checkBytes(aad, 'aad');
  if (sealed.length < XCHACHA_TAG_LENGTH) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `xchacha20poly1305: sealed data is ${sealed.length} bytes, shorter than the ${XCHACHA_TAG_LENGTH}-byte tag`,
      { details: { field: 'sealed', actual: sealed.length } },
    );
  }
  const { subkey, iv } = innerParams(key, nonce);
  const ctLength = sealed.length - XCHACHA_TAG_LENGTH;
  let plaintext: Buffer | undefined;
  try {
    const decipher = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: XCHACHA_TAG_LENGTH });
    decipher.setAuthTag(sealed.subarray(ctLength));
    decipher.setAAD(aad, { plaintextLength: ctLength });
    plaintext = decipher.update(sealed.subarray(0, ctLength));
    decipher.final(); // throws when the tag does not verify
    return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  } catch (cause) {
    plaintext?.fill(0);
    throw new CairnError(
      'AUTH_FAILED',
      'xchacha20poly1305: authentication failed: the data, nonce or associated data was altered, or the key is wrong',
      { cause },
    );
  } finally {
    subkey.fill(0);
  }
}
