/** Public exports of hashing/: BLAKE3 with a native fast path and a WASM fallback (same bytes). */
export { activeBlake3Backend, blake3, blake3Backends, blake3DeriveKey, createBlake3 } from './blake3.js';
export {
  BLAKE3_KEY_LENGTH,
  BLAKE3_MAX_OUT_LENGTH,
  BLAKE3_OUT_LENGTH,
  type Blake3BackendName,
  type Blake3Hasher,
  type Blake3HasherOptions,
  type Blake3Impl,
  type Blake3Options,
} from './blake3-impl.js';
