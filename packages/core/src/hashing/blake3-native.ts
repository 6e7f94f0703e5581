/**
 * Native BLAKE3 backend: `@napi-rs/blake-hash`, a prebuilt N-API build of the reference Rust crate
 * (SIMD, several GB/s). It only produces the default 32-byte output, so outputs above 32 bytes
 * (XOF) are delegated to a second backend given at load time; shorter outputs are prefixes of the
 * 32-byte one, as BLAKE3 defines. Loading never throws: without a usable binary for this platform
 * {@link loadNativeBlake3} returns undefined and callers fall back to WASM.
 */
import { createRequire } from 'node:module';
import type * as NapiBlakeHash from '@napi-rs/blake-hash';
import {
  BLAKE3_OUT_LENGTH,
  type Blake3Hasher,
  type Blake3HasherOptions,
  type Blake3Impl,
  type Blake3Options,
  checkContext,
  checkDigestLength,
  checkInput,
  checkKey,
  checkLength,
  finalizedError,
  plainView,
} from './blake3-impl.js';

type NativeModule = typeof NapiBlakeHash;
type NativeHasher = NapiBlakeHash.Blake3Hasher;

/** A Buffer view of `key` without copying (the binding's keyed constructor wants a Buffer). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class NativeBlake3Hasher implements Blake3Hasher {
  #state: NativeHasher | undefined;

  constructor(state: NativeHasher) {
    this.#state = state;
  }

  update(data: Uint8Array): this {
    checkInput(data);
    if (!this.#state) throw finalizedError();
    this.#state.update(data);
    return this;
  }

  digest(length?: number): Uint8Array {
    const n = checkDigestLength(length, false);
    const state = this.#state;
    if (!state) throw finalizedError();
    this.#state = undefined;
    return plainView(state.digestBuffer(), n);
  }
}

/**
 * Loads the native backend, or returns undefined when this platform has no working binary.
 * `xof` serves every request for more than 32 bytes of output.
 */
export function loadNativeBlake3(xof: Blake3Impl): Blake3Impl | undefined {
  let native: NativeModule;
  try {
    native = createRequire(import.meta.url)('@napi-rs/blake-hash') as NativeModule;
    // A binary that loads but computes wrongly (e.g. a broken WASI fallback) must not be used:
    // check the empty-input vector from the BLAKE3 spec once.
    const probe = native.blake3(new Uint8Array(0)).toString('hex');
    if (probe !== 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262') return undefined;
  } catch {
    return undefined;
  }
  const { Blake3Hasher: Hasher, blake3 } = native;
  // The last keyed hasher, reset for each one-shot keyed hash: creating one costs about as much as
  // hashing 2 KiB (4.7 against 2.5 µs per 1.5 KiB tree blob), and ids are keyed hashes of many
  // small blobs with one key. Matched by the key's bytes, so a caller reusing a buffer is safe.
  let lastKey: Buffer | undefined;
  let lastKeyed: NativeHasher | undefined;
  const keyedHasher = (key: Uint8Array): NativeHasher => {
    const k = asBuffer(key);
    if (lastKeyed && lastKey!.equals(k)) {
      lastKeyed.reset();
      return lastKeyed;
    }
    lastKey = Buffer.from(k);
    lastKeyed = Hasher.newKeyed(lastKey);
    return lastKeyed;
  };

  return {
    name: 'native',

    hash(data: Uint8Array, opts?: Blake3Options): Uint8Array {
      checkInput(data);
      checkKey(opts?.key);
      const n = checkLength(opts?.length);
      if (n > BLAKE3_OUT_LENGTH) return xof.hash(data, opts);
      if (!opts?.key) return plainView(blake3(data), n);
      return plainView(keyedHasher(opts.key).update(data).digestBuffer(), n);
    },

    createHasher(opts?: Blake3HasherOptions): Blake3Hasher {
      checkKey(opts?.key);
      if (opts?.extendedOutput) return xof.createHasher(opts);
      return new NativeBlake3Hasher(opts?.key ? Hasher.newKeyed(asBuffer(opts.key)) : new Hasher());
    },

    deriveKey(context: string, material: Uint8Array, length?: number): Uint8Array {
      checkContext(context);
      checkInput(material, 'material');
      const n = checkLength(length);
      if (n > BLAKE3_OUT_LENGTH) return xof.deriveKey(context, material, n);
      return plainView(Hasher.deriveKey(context, material), n);
    },
  };
}
