/**
 * Portable BLAKE3 backend: the WebAssembly build of the reference Rust crate shipped in
 * `blake3-wasm`. Runs everywhere Node runs, supports every mode and any output length (XOF), and
 * is the reference the native backend is checked against.
 *
 * Memory: wasm-bindgen objects (`Blake3Hash`, `HashReader`) live in WASM linear memory until
 * `.free()`; every one created here is freed in a `finally` (one-shot calls) or at `digest()`
 * (incremental hashers, with a FinalizationRegistry as the safety net for abandoned ones). Input
 * bytes are copied into WASM memory per call and released by the binding after the call.
 */
import { createRequire } from 'node:module';
import { CairnError } from '../errors.js';
import {
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
} from './blake3-impl.js';

/** The parts of blake3-wasm's Node build (wasm-bindgen output) used here. */
interface WasmHash {
  update(input: Uint8Array): void;
  /** Fills `out` from the extended output, starting at byte 0. */
  digest(out: Uint8Array): void;
  free(): void;
}
interface WasmBindings {
  hash(data: Uint8Array, out: Uint8Array): void;
  create_hasher(): WasmHash;
  create_keyed(key: Uint8Array): WasmHash;
  create_derive(context: string): WasmHash;
}

const nodeRequire = createRequire(import.meta.url);
let bindings: WasmBindings | undefined;

/** Loads (once) and returns the WASM bindings; compiling the module takes a few milliseconds. */
function wasm(): WasmBindings {
  if (bindings) return bindings;
  try {
    bindings = nodeRequire('blake3-wasm/dist/wasm/nodejs/blake3_js.js') as WasmBindings;
  } catch (cause) {
    throw new CairnError('UNSUPPORTED_ALGORITHM', 'blake3: the WebAssembly backend (blake3-wasm) failed to load', {
      cause,
    });
  }
  return bindings;
}

/** Frees WASM hashers whose JS wrapper was dropped without `digest()`. */
const abandoned = new FinalizationRegistry<WasmHash>((h) => h.free());

class WasmHasher implements Blake3Hasher {
  #state: WasmHash | undefined;
  readonly #extendedOutput: boolean;

  constructor(state: WasmHash, extendedOutput: boolean) {
    this.#state = state;
    this.#extendedOutput = extendedOutput;
    abandoned.register(this, state, this);
  }

  update(data: Uint8Array): this {
    checkInput(data);
    if (!this.#state) throw finalizedError();
    this.#state.update(data);
    return this;
  }

  digest(length?: number): Uint8Array {
    const n = checkDigestLength(length, this.#extendedOutput);
    const state = this.#state;
    if (!state) throw finalizedError();
    this.#state = undefined;
    abandoned.unregister(this);
    try {
      const out = new Uint8Array(n);
      state.digest(out);
      return out;
    } finally {
      state.free();
    }
  }
}

/** Runs `fn` on a fresh WASM hasher and frees it whatever happens. */
function withState<T>(state: WasmHash, fn: (s: WasmHash) => T): T {
  try {
    return fn(state);
  } finally {
    state.free();
  }
}

function newState(key: Uint8Array | undefined): WasmHash {
  return key ? wasm().create_keyed(key) : wasm().create_hasher();
}

/** The WASM backend. The module is compiled on first use, not at import. */
export const wasmBlake3: Blake3Impl = {
  name: 'wasm',

  hash(data: Uint8Array, opts?: Blake3Options): Uint8Array {
    checkInput(data);
    checkKey(opts?.key);
    const out = new Uint8Array(checkLength(opts?.length));
    // The plain mode has a one-call export that allocates no hasher object.
    if (!opts?.key) wasm().hash(data, out);
    else
      withState(newState(opts.key), (s) => {
        s.update(data);
        s.digest(out);
      });
    return out;
  },

  createHasher(opts?: Blake3HasherOptions): Blake3Hasher {
    checkKey(opts?.key);
    return new WasmHasher(newState(opts?.key), opts?.extendedOutput === true);
  },

  deriveKey(context: string, material: Uint8Array, length?: number): Uint8Array {
    checkContext(context);
    checkInput(material, 'material');
    const out = new Uint8Array(checkLength(length));
    withState(wasm().create_derive(context), (s) => {
      s.update(material);
      s.digest(out);
    });
    return out;
  },
};
