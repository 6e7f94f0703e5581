import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 as nobleXChaCha } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import {
  fillRandomNonce,
  randomNonce,
  XCHACHA_TAG_LENGTH,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
} from '../../src/crypto/index.js';
import { type CairnError, isCairnError } from '../../src/errors.js';
import { hasVectors, readVectorJson } from '../helpers/vectors.js';

interface AeadVectors {
  cases: { key: string; nonce: string; aad: string; plaintext_utf8: string; ciphertext: string; tag: string }[];
}

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function caught(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    return err as CairnError;
  }
  return expect.fail('expected a CairnError');
}

/** Byte equality that reports the first difference instead of diffing large arrays. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array) {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(Buffer.from(actual), Buffer.from(expected))).toBe(0);
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe.skipIf(!hasVectors)('XChaCha20-Poly1305: draft-irtf-cfrg-xchacha vector', () => {
  const { cases } = hasVectors ? readVectorJson<AeadVectors>('xchacha20poly1305.json') : { cases: [] };
  for (const [i, c] of cases.entries()) {
    it(`case ${i}: seal gives ciphertext || tag, open gives the plaintext`, () => {
      const [key, nonce, aad] = [fromHex(c.key), fromHex(c.nonce), fromHex(c.aad)];
      const plaintext = new TextEncoder().encode(c.plaintext_utf8);
      const sealed = xchacha20poly1305Seal(key, nonce, plaintext, aad);
      expect(hex(sealed)).toBe(c.ciphertext + c.tag);
      expect(new TextDecoder().decode(xchacha20poly1305Open(key, nonce, sealed, aad))).toBe(c.plaintext_utf8);
    });
  }
});

describe('XChaCha20-Poly1305 agrees with @noble/ciphers', () => {
  // Sizes from a fixed LCG, so a failure names a reproducible size.
  let x = 12345;
  const next = (bound: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % bound;
  };
  const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1000, 4096, 65_536, 102_400];
  for (let i = 0; i < 40; i++) sizes.push(next(102_401));

  it('on random keys, nonces, plaintexts (0..100 KiB) and aad, both ways', () => {
    for (const size of sizes) {
      const key = randomBytes(32);
      const nonce = randomNonce();
      const plaintext = randomBytes(size);
      const aad = randomBytes(next(100));
      const ours = xchacha20poly1305Seal(key, nonce, plaintext, aad);
      const noble = nobleXChaCha(key, nonce, aad).encrypt(plaintext);
      expectSameBytes(ours, noble);
      expectSameBytes(xchacha20poly1305Open(key, nonce, noble, aad), plaintext);
      expectSameBytes(nobleXChaCha(key, nonce, aad).decrypt(ours), plaintext);
    }
  });

  it('without aad (defaults to empty)', () => {
    const [key, nonce, plaintext] = [randomBytes(32), randomNonce(), randomBytes(1000)];
    expectSameBytes(xchacha20poly1305Seal(key, nonce, plaintext), nobleXChaCha(key, nonce).encrypt(plaintext));
  });

  it('on a 4 MiB message', () => {
    const [key, nonce, plaintext, aad] = [randomBytes(32), randomNonce(), randomBytes(4 << 20), randomBytes(32)];
    const sealed = xchacha20poly1305Seal(key, nonce, plaintext, aad);
    expect(sealed.length).toBe(plaintext.length + XCHACHA_TAG_LENGTH);
    expectSameBytes(sealed, nobleXChaCha(key, nonce, aad).encrypt(plaintext));
    expectSameBytes(xchacha20poly1305Open(key, nonce, sealed, aad), plaintext);
  });
});

describe('XChaCha20-Poly1305 tampering is AUTH_FAILED', () => {
  const key = randomBytes(32);
  const nonce = randomNonce();
  const plaintext = randomBytes(40);
  const aad = randomBytes(12);
  const sealed = xchacha20poly1305Seal(key, nonce, plaintext, aad);
  const authFails = (fn: () => unknown) => expect(caught(fn).code).toBe('AUTH_FAILED');

  it('for every flipped bit of the ciphertext and the tag', () => {
    for (let bit = 0; bit < sealed.length * 8; bit++)
      authFails(() => xchacha20poly1305Open(key, nonce, flipBit(sealed, bit), aad));
  });

  it('for every flipped bit of the aad and the nonce', () => {
    for (let bit = 0; bit < aad.length * 8; bit++)
      authFails(() => xchacha20poly1305Open(key, nonce, sealed, flipBit(aad, bit)));
    for (let bit = 0; bit < nonce.length * 8; bit++)
      authFails(() => xchacha20poly1305Open(key, flipBit(nonce, bit), sealed, aad));
  });

  it('for a wrong key, missing aad, truncation and extension', () => {
    authFails(() => xchacha20poly1305Open(flipBit(key, 0), nonce, sealed, aad));
    authFails(() => xchacha20poly1305Open(key, nonce, sealed));
    authFails(() => xchacha20poly1305Open(key, nonce, sealed.subarray(0, sealed.length - 1), aad));
    authFails(() => xchacha20poly1305Open(key, nonce, sealed.subarray(1), aad));
    authFails(() => xchacha20poly1305Open(key, nonce, new Uint8Array([...sealed, 0]), aad));
    authFails(() => xchacha20poly1305Open(key, nonce, sealed.subarray(0, XCHACHA_TAG_LENGTH), aad));
  });

  it('an empty plaintext seals to a bare tag that still opens', () => {
    const tagOnly = xchacha20poly1305Seal(key, nonce, new Uint8Array(0), aad);
    expect(tagOnly.length).toBe(XCHACHA_TAG_LENGTH);
    expect(xchacha20poly1305Open(key, nonce, tagOnly, aad)).toHaveLength(0);
  });
});

describe('XChaCha20-Poly1305 argument checks', () => {
  const [key, nonce] = [randomBytes(32), randomNonce()];

  it('key must be 32 bytes and nonce 24 bytes (INVALID_ARGUMENT naming the field)', () => {
    for (const n of [0, 16, 31, 33]) {
      const err = caught(() => xchacha20poly1305Seal(new Uint8Array(n), nonce, new Uint8Array(1)));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.details?.field).toBe('key');
      expect(err.message).toContain(`got ${n}`);
    }
    for (const n of [0, 12, 23, 25]) {
      const err = caught(() => xchacha20poly1305Open(key, new Uint8Array(n), new Uint8Array(16)));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.details?.field).toBe('nonce');
    }
  });

  it('sealed data shorter than the tag is INVALID_ARGUMENT', () => {
    for (const n of [0, 1, 15]) {
      const err = caught(() => xchacha20poly1305Open(key, nonce, new Uint8Array(n)));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.details?.field).toBe('sealed');
    }
  });

  it('non-byte inputs are INVALID_ARGUMENT', () => {
    expect(caught(() => xchacha20poly1305Seal(key, nonce, 'text' as unknown as Uint8Array)).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(caught(() => xchacha20poly1305Seal(key, nonce, new Uint8Array(1), [1] as unknown as Uint8Array)).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('randomNonce gives 24 fresh bytes each call', () => {
    const a = randomNonce();
    expect(a).toHaveLength(24);
    expect(hex(a)).not.toBe(hex(randomNonce()));
  });
});

describe('XChaCha20-Poly1305 random nonces', () => {
  it('are never handed out twice, across many refills of the pool', () => {
    const seen = new Set<string>();
    const out = new Uint8Array(40);
    for (let i = 0; i < 2000; i++) {
      const a = Buffer.from(randomNonce()).toString('hex');
      const b = Buffer.from(fillRandomNonce(out.subarray(8, 32))).toString('hex');
      expect(a).toHaveLength(48);
      seen.add(a).add(b);
    }
    expect(seen.size).toBe(4000);
    expect(out.subarray(0, 8).every((x) => x === 0) && out.subarray(32).every((x) => x === 0)).toBe(true);
  });
});
