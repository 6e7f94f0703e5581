/**
 * Helpers of the format tests: catching typed errors, and taking packs and sealed objects apart
 * and putting them back together with the right key, so a test can damage one plaintext field
 * and check that the parser (not only the seal) refuses it with the right code.
 */
import { expect } from 'vitest';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '../../src/crypto/xchacha20poly1305.js';
import { type CairnError, type ErrorCode, isCairnError } from '../../src/errors.js';
import { PACK_TRAILER_LENGTH } from '../../src/format/pack-header.js';
import { TEST_KEYS } from '../fuzz/fixtures.js';

export { TEST_KEYS };

/** The CairnError `fn` throws; fails the test when it throws anything else or nothing. */
export function caught(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    return err as CairnError;
  }
  return expect.fail('expected a CairnError');
}

/** The CairnError a promise rejects with. */
export async function rejected(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    return err as CairnError;
  }
  return expect.fail('expected a CairnError');
}

/** Asserts `fn` throws a CairnError with `code`. */
export function expectCode(fn: () => unknown, code: ErrorCode): CairnError {
  const err = caught(fn);
  expect(err.code, err.message).toBe(code);
  return err;
}

const HEADER_AAD = new TextEncoder().encode('cairn.pack-header.v1');

/** A pack taken apart: blob area, sealed-header plaintext. */
export interface PackParts {
  blobs: Uint8Array;
  plain: Uint8Array;
}

/** Splits a valid pack (sealed with {@link TEST_KEYS}) into blob area and header plaintext. */
export function splitPack(pack: Uint8Array): PackParts {
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const headerLength = view.getUint32(pack.length - PACK_TRAILER_LENGTH, true);
  const start = pack.length - PACK_TRAILER_LENGTH - headerLength;
  const sealed = pack.subarray(start, pack.length - PACK_TRAILER_LENGTH);
  const plain = xchacha20poly1305Open(TEST_KEYS.dataKey, sealed.subarray(0, 24), sealed.subarray(24), HEADER_AAD);
  return { blobs: pack.slice(0, start), plain: new Uint8Array(plain) };
}

/** Reassembles a pack, sealing `plain` as its header with the right key. */
export function joinPack(parts: PackParts): Uint8Array {
  const nonce = new Uint8Array(24).fill(9);
  const sealed = xchacha20poly1305Seal(TEST_KEYS.dataKey, nonce, parts.plain, HEADER_AAD);
  const trailer = new Uint8Array(PACK_TRAILER_LENGTH);
  new DataView(trailer.buffer).setUint32(0, 24 + sealed.length, true);
  trailer.set(new TextEncoder().encode('CAIRNPK1'), 4);
  return new Uint8Array(Buffer.concat([parts.blobs, nonce, sealed, trailer]));
}

/** A copy of `bytes` with `edit` applied to a DataView of it. */
export function edited(bytes: Uint8Array, edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = new Uint8Array(bytes);
  edit(new DataView(copy.buffer), copy);
  return copy;
}

/** Header (12 bytes) and decrypted payload of a sealed object. */
export function unsealObject(bytes: Uint8Array): { header: Uint8Array; payload: Uint8Array } {
  const header = bytes.slice(0, 12);
  const payload = xchacha20poly1305Open(TEST_KEYS.dataKey, bytes.subarray(12, 36), bytes.subarray(36), header);
  return { header, payload: new Uint8Array(payload) };
}

/** Seals a (possibly edited) header and payload with the right key. */
export function resealObject(header: Uint8Array, payload: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(24).fill(3);
  const ct = xchacha20poly1305Seal(TEST_KEYS.dataKey, nonce, payload, header);
  return new Uint8Array(Buffer.concat([header, nonce, ct]));
}
