/**
 * BLAKE3 for Cairn: chunk ids (keyed mode), pack ids (plain mode) and key derivation (derive_key
 * mode). The native backend is used when its binary loads on this platform, otherwise the WASM
 * backend; both give identical bytes for every input, key and output length, so the choice never
 * changes a repository.
 *
 * Backend choice happens once, at import. `CAIRN_BLAKE3=wasm` forces the portable backend (tests,
 * benchmarks, debugging); `CAIRN_BLAKE3=native` asks for the native one and warns if it is missing.
 * Both backends stay reachable through {@link blake3Backends}.
 */
import type { Blake3BackendName, Blake3Hasher, Blake3HasherOptions, Blake3Impl, Blake3Options } from './blake3-impl.js';
import { loadNativeBlake3 } from './blake3-native.js';
import { wasmBlake3 } from './blake3-wasm.js';

const nativeBlake3 = loadNativeBlake3(wasmBlake3);

/** Every BLAKE3 backend available in this process; `native` is absent when its binary did not load. */
export const blake3Backends: { readonly native?: Blake3Impl; readonly wasm: Blake3Impl } = Object.freeze({
  ...(nativeBlake3 ? { native: nativeBlake3 } : {}),
  wasm: wasmBlake3,
});

function chooseBackend(): Blake3Impl {
  const wanted = process.env.CAIRN_BLAKE3;
  if (wanted === 'wasm') return wasmBlake3;
  if (wanted !== undefined && wanted !== '' && wanted !== 'native') {
    process.emitWarning(`CAIRN_BLAKE3=${wanted} is not 'native' or 'wasm'; ignored`, 'CairnWarning');
  }
  if (wanted === 'native' && !nativeBlake3) {
    process.emitWarning('CAIRN_BLAKE3=native but the native BLAKE3 binary did not load; using WASM', 'CairnWarning');
  }
  return nativeBlake3 ?? wasmBlake3;
}

const active = chooseBackend();
/**
 * Plain-mode inputs up to this many bytes hash faster in WebAssembly when the native backend is
 * chosen: a native call costs ~0.9 µs before it hashes anything, so WebAssembly wins below ~2 KiB
 * (0.3 against 0.9 µs at 16 bytes, 1.1 against 1.9 µs at 1 KiB). Restores name every temporary
 * file this way and backups every directory record. Keyed inputs stay native: WebAssembly's key
 * setup costs as much. Both backends give identical bytes; CAIRN_BLAKE3=native turns this off.
 */
const SHORT_PLAIN_BYTES = active.name === 'native' && process.env.CAIRN_BLAKE3 !== 'native' ? 1024 : -1;

/** Which backend {@link blake3}, {@link createBlake3} and {@link blake3DeriveKey} use. */
export function activeBlake3Backend(): Blake3BackendName {
  return active.name;
}

/**
 * BLAKE3 of `data`: plain mode, or keyed mode when `opts.key` (exactly 32 bytes) is given.
 * `opts.length` (default 32) selects the output length; longer outputs extend shorter ones.
 * Throws `INVALID_ARGUMENT` for a key that is not 32 bytes or a length outside 1..2^31-1.
 */
export function blake3(data: Uint8Array, opts?: Blake3Options): Uint8Array {
  if (data instanceof Uint8Array && data.length <= SHORT_PLAIN_BYTES && opts?.key === undefined) {
    return wasmBlake3.hash(data, opts);
  }
  return active.hash(data, opts);
}

/**
 * An incremental BLAKE3 hasher (plain or keyed). Feed it with `update`, finish with `digest`;
 * the result equals {@link blake3} of the concatenated input. Pass `extendedOutput: true` to
 * `digest` more than 32 bytes.
 */
export function createBlake3(opts?: Blake3HasherOptions): Blake3Hasher {
  return active.createHasher(opts);
}

/**
 * BLAKE3 derive_key mode: `length` bytes (default 32) of key material for `context`, a
 * hard-coded, globally unique, application-specific string (e.g. `"cairn 2025 pack header key"`).
 */
export function blake3DeriveKey(context: string, material: Uint8Array, length?: number): Uint8Array {
  return active.deriveKey(context, material, length);
}
