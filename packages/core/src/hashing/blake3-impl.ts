/**
 * The contract every BLAKE3 backend implements, and the argument checks they share. Backends must
 * give byte-identical output for every input, key and output length; the shared checks make them
 * fail identically too (same codes, same messages) on bad arguments.
 */
import { CairnError } from '../errors.js';

/** Length in bytes of a BLAKE3 key (keyed mode). */
export const BLAKE3_KEY_LENGTH = 32;
/** Default BLAKE3 output length in bytes. Shorter outputs are prefixes of longer ones. */
export const BLAKE3_OUT_LENGTH = 32;
/** Largest output length accepted (bytes). Extended output beyond this has no use in Cairn. */
export const BLAKE3_MAX_OUT_LENGTH = 0x7fff_ffff;

/** Names of the BLAKE3 backends. */
export type Blake3BackendName = 'native' | 'wasm';

/** Options of a one-shot hash. */
export interface Blake3Options {
  /** 32-byte key: keyed-hash mode (used for chunk ids). Omitted: plain hash mode. */
  key?: Uint8Array;
  /** Output length in bytes (default 32). Above 32 the extended output (XOF) is used. */
  length?: number;
}

/** Options of an incremental hasher. */
export interface Blake3HasherOptions {
  /** 32-byte key: keyed-hash mode. */
  key?: Uint8Array;
  /**
   * Set to allow `digest(length)` with length above 32. The native fast path only produces 32
   * bytes, so an extended-output hasher always runs on the WASM backend; the flag is required on
   * every backend so that code behaves the same whichever backend is active.
   */
  extendedOutput?: boolean;
}

/**
 * An incremental BLAKE3 hasher. `digest` finalises it: afterwards both methods throw
 * `INVALID_ARGUMENT` (this lets the WASM backend release its memory at once).
 */
export interface Blake3Hasher {
  /** Absorbs `data`; returns the hasher for chaining. */
  update(data: Uint8Array): this;
  /** Output of `length` bytes (default 32); see {@link Blake3HasherOptions.extendedOutput}. */
  digest(length?: number): Uint8Array;
}

/** One BLAKE3 backend. Every method checks its arguments. */
export interface Blake3Impl {
  readonly name: Blake3BackendName;
  /** One-shot hash of `data`. */
  hash(data: Uint8Array, opts?: Blake3Options): Uint8Array;
  /** A new incremental hasher. */
  createHasher(opts?: Blake3HasherOptions): Blake3Hasher;
  /** BLAKE3 derive_key mode: a key of `length` bytes (default 32) for `context` from `material`. */
  deriveKey(context: string, material: Uint8Array, length?: number): Uint8Array;
}

function invalid(message: string, details: Record<string, unknown>): CairnError {
  return new CairnError('INVALID_ARGUMENT', message, { details });
}

/** Throws unless `data` is a Uint8Array. */
export function checkInput(data: unknown, field = 'data'): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw invalid(`blake3: ${field} must be a Uint8Array`, { field });
}

/** Throws unless `key` is absent or exactly 32 bytes. */
export function checkKey(key: Uint8Array | undefined): void {
  if (key === undefined) return;
  if (!(key instanceof Uint8Array) || key.length !== BLAKE3_KEY_LENGTH) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw invalid(`blake3: key must be exactly ${BLAKE3_KEY_LENGTH} bytes, got ${got}`, { field: 'key' });
  }
}

/** Validates an output length (default 32) and returns it. */
export function checkLength(length: number | undefined): number {
  if (length === undefined) return BLAKE3_OUT_LENGTH;
  if (!Number.isSafeInteger(length) || length < 1 || length > BLAKE3_MAX_OUT_LENGTH) {
    throw invalid(`blake3: output length must be an integer from 1 to ${BLAKE3_MAX_OUT_LENGTH}, got ${length}`, {
      field: 'length',
    });
  }
  return length;
}

/** Validates a digest length for a hasher created with or without extended output. */
export function checkDigestLength(length: number | undefined, extendedOutput: boolean): number {
  const n = checkLength(length);
  if (n > BLAKE3_OUT_LENGTH && !extendedOutput) {
    throw invalid(
      `blake3: digest(${n}) needs a hasher created with { extendedOutput: true } (outputs above ${BLAKE3_OUT_LENGTH} bytes)`,
      { field: 'length' },
    );
  }
  return n;
}

/** Validates a derive_key context string. */
export function checkContext(context: unknown): asserts context is string {
  if (typeof context !== 'string' || context.length === 0) {
    throw invalid('blake3: derive_key context must be a non-empty string', { field: 'context' });
  }
}

/** The error thrown when a finalised hasher is used again. */
export function finalizedError(): CairnError {
  return invalid('blake3: hasher already finalised by digest(); create a new one', { field: 'hasher' });
}

/** A plain Uint8Array view of `bytes[0..length)` (Buffers from bindings become plain arrays). */
export function plainView(bytes: Uint8Array, length = bytes.length): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, length);
}
