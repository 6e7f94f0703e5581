import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../src/errors.js';
import type { Blake3Impl } from '../../src/hashing/blake3-impl.js';
import { activeBlake3Backend, blake3, blake3Backends, blake3DeriveKey, createBlake3 } from '../../src/hashing/index.js';
import { hasVectors, readVectorJson } from '../helpers/vectors.js';

interface Blake3Vectors {
  key: string;
  context_string: string;
  cases: { input_len: number; hash: string; keyed_hash: string; derive_key: string }[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The vectors' input: bytes 0, 1, ..., 250, 0, 1, ... */
function vectorInput(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

/** Deterministic xorshift32, so a failing split can be reproduced. */
function prng(seed: number): (bound: number) => number {
  let x = seed >>> 0 || 1;
  return (bound) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % bound;
  };
}

/** Splits `data` at random points (including empty pieces) and feeds them one by one. */
function feedInPieces(update: (piece: Uint8Array) => unknown, data: Uint8Array, rand: (bound: number) => number) {
  let off = 0;
  while (off < data.length) {
    const n = rand(Math.min(data.length - off, 3000) + 1);
    update(data.subarray(off, off + n));
    off += n;
  }
  update(data.subarray(data.length));
}

function expectCode(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    return;
  }
  expect.fail(`expected a ${code} error`);
}

const backends: [string, Blake3Impl | undefined][] = [
  ['native', blake3Backends.native],
  ['wasm', blake3Backends.wasm],
];

for (const [name, impl] of backends) {
  describe.skipIf(!hasVectors || !impl)(`BLAKE3 ${name} backend: official vectors`, () => {
    const v = hasVectors ? readVectorJson<Blake3Vectors>('blake3.json') : undefined;
    const key = new TextEncoder().encode(v?.key ?? '');
    const b3 = impl!;

    for (const c of v?.cases ?? []) {
      const input = vectorInput(c.input_len);
      const full = c.hash.length / 2;

      it(`input_len ${c.input_len}: hash, default and extended output`, () => {
        expect(hex(b3.hash(input, { length: full }))).toBe(c.hash);
        expect(hex(b3.hash(input))).toBe(c.hash.slice(0, 64));
        expect(hex(b3.hash(input, { length: 5 }))).toBe(c.hash.slice(0, 10));
      });

      it(`input_len ${c.input_len}: keyed_hash`, () => {
        expect(hex(b3.hash(input, { key, length: full }))).toBe(c.keyed_hash);
        expect(hex(b3.hash(input, { key }))).toBe(c.keyed_hash.slice(0, 64));
      });

      it(`input_len ${c.input_len}: derive_key`, () => {
        expect(hex(b3.deriveKey(v!.context_string, input, full))).toBe(c.derive_key);
        expect(hex(b3.deriveKey(v!.context_string, input))).toBe(c.derive_key.slice(0, 64));
      });

      it(`input_len ${c.input_len}: incremental, split at random points`, () => {
        const rand = prng(c.input_len + 1);
        for (const opts of [{}, { key }]) {
          const expected = 'key' in opts ? c.keyed_hash : c.hash;
          const h = b3.createHasher(opts);
          feedInPieces((p) => h.update(p), input, rand);
          expect(hex(h.digest())).toBe(expected.slice(0, 64));

          const x = b3.createHasher({ ...opts, extendedOutput: true });
          feedInPieces((p) => x.update(p), input, rand);
          expect(hex(x.digest(full))).toBe(expected);
        }
      });
    }
  });
}

describe.skipIf(!blake3Backends.native)('BLAKE3 native and wasm agree', () => {
  it('on random inputs, keys and lengths', () => {
    const rand = prng(42);
    for (let i = 0; i < 60; i++) {
      const data = randomBytes(rand(i % 10 === 0 ? 3 << 20 : 70_000));
      const key = i % 2 ? randomBytes(32) : undefined;
      const length = 1 + rand(i % 3 === 0 ? 200 : 32);
      const opts = { ...(key ? { key } : {}), length };
      expect(hex(blake3Backends.native!.hash(data, opts))).toBe(hex(blake3Backends.wasm.hash(data, opts)));
    }
  });

  it('with keys alternating, repeating, and one key buffer rewritten between calls', () => {
    // The native backend reuses its last keyed hasher: it must notice every change of key.
    const native = blake3Backends.native!;
    const a = randomBytes(32);
    const b = randomBytes(32);
    const shared = Buffer.from(a);
    const data = randomBytes(1500);
    for (const key of [a, a, b, a, b, b]) {
      expect(hex(native.hash(data, { key }))).toBe(hex(blake3Backends.wasm.hash(data, { key })));
    }
    expect(hex(native.hash(data, { key: shared }))).toBe(hex(blake3Backends.wasm.hash(data, { key: a })));
    b.copy(shared);
    expect(hex(native.hash(data, { key: shared }))).toBe(hex(blake3Backends.wasm.hash(data, { key: b })));
    expect(hex(native.hash(data.subarray(7), { key: shared }))).toBe(
      hex(blake3Backends.wasm.hash(data.subarray(7), { key: b })),
    );
  });
});

describe('BLAKE3 backend selection', () => {
  it('uses native unless CAIRN_BLAKE3=wasm or the binary is missing', () => {
    const expected = process.env.CAIRN_BLAKE3 === 'wasm' || !blake3Backends.native ? 'wasm' : 'native';
    expect(activeBlake3Backend()).toBe(expected);
  });

  it.skipIf(!['linux', 'darwin', 'win32'].includes(process.platform))('native binary loads on this platform', () => {
    expect(blake3Backends.native?.name).toBe('native');
  });

  it('the public functions give the backends’ bytes', () => {
    const data = randomBytes(100_000);
    const key = randomBytes(32);
    expect(blake3(data)).toEqual(blake3Backends.wasm.hash(data));
    expect(blake3(data, { key, length: 64 })).toEqual(blake3Backends.wasm.hash(data, { key, length: 64 }));
    expect(blake3DeriveKey('cairn test context', data)).toEqual(
      blake3Backends.wasm.deriveKey('cairn test context', data),
    );
    expect(createBlake3({ key }).update(data.subarray(0, 10)).update(data.subarray(10)).digest()).toEqual(
      blake3(data, { key }),
    );
  });

  it('returns plain Uint8Arrays, not Buffers', () => {
    for (const impl of [blake3Backends.native, blake3Backends.wasm]) {
      if (!impl) continue;
      expect(Object.getPrototypeOf(impl.hash(new Uint8Array(3)))).toBe(Uint8Array.prototype);
      expect(Object.getPrototypeOf(impl.createHasher().digest())).toBe(Uint8Array.prototype);
    }
  });
});

for (const [name, impl] of backends) {
  describe.skipIf(!impl)(`BLAKE3 ${name} backend: argument checks`, () => {
    const b3 = impl!;
    it('rejects keys that are not exactly 32 bytes', () => {
      for (const n of [0, 16, 31, 33, 64]) {
        const key = new Uint8Array(n);
        expectCode(() => b3.hash(new Uint8Array(1), { key }), 'INVALID_ARGUMENT');
        expectCode(() => b3.createHasher({ key }), 'INVALID_ARGUMENT');
      }
    });

    it('rejects output lengths that are not positive integers', () => {
      for (const length of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
        expectCode(() => b3.hash(new Uint8Array(1), { length }), 'INVALID_ARGUMENT');
        expectCode(() => b3.deriveKey('ctx', new Uint8Array(1), length), 'INVALID_ARGUMENT');
        expectCode(() => b3.createHasher().digest(length), 'INVALID_ARGUMENT');
      }
    });

    it('rejects non-byte input and an empty derive_key context', () => {
      expectCode(() => b3.hash('abc' as unknown as Uint8Array), 'INVALID_ARGUMENT');
      expectCode(() => b3.createHasher().update([1, 2] as unknown as Uint8Array), 'INVALID_ARGUMENT');
      expectCode(() => b3.deriveKey('', new Uint8Array(1)), 'INVALID_ARGUMENT');
    });

    it('needs extendedOutput for digests above 32 bytes, on every backend', () => {
      expectCode(() => b3.createHasher().digest(33), 'INVALID_ARGUMENT');
      expect(b3.createHasher().digest(31)).toEqual(b3.hash(new Uint8Array(0), { length: 31 }));
      expect(b3.createHasher({ extendedOutput: true }).digest(100)).toEqual(
        b3.hash(new Uint8Array(0), { length: 100 }),
      );
    });

    it('refuses to be used after digest()', () => {
      const h = b3.createHasher().update(new Uint8Array(4));
      h.digest();
      expectCode(() => h.digest(), 'INVALID_ARGUMENT');
      expectCode(() => h.update(new Uint8Array(1)), 'INVALID_ARGUMENT');
    });
  });
}

describe('BLAKE3 wasm backend: memory', () => {
  it('frees every hasher and reader (WASM memory stays flat over many calls)', () => {
    const wasmExports = createRequire(import.meta.url)('blake3-wasm/dist/wasm/nodejs/blake3_js.js').__wasm as {
      memory: { buffer: ArrayBuffer };
    };
    const b3 = blake3Backends.wasm;
    const data = randomBytes(64 * 1024);
    const key = randomBytes(32);
    const round = () => {
      for (let i = 0; i < 500; i++) {
        b3.hash(data, { key, length: 64 });
        b3.deriveKey('cairn test context', data, 48);
        b3.createHasher({ key, extendedOutput: true }).update(data).digest(40);
      }
    };
    round();
    const before = wasmExports.memory.buffer.byteLength;
    round();
    round();
    expect(wasmExports.memory.buffer.byteLength).toBe(before);
  });
});
