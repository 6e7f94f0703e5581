/** HChaCha20: the draft's test vector, and agreement with the independent reader's implementation. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hchacha20Into } from '../../src/crypto/hchacha20.js';
import { hchacha20 } from '../format/independent-reader.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));

describe('hchacha20Into', () => {
  it('matches draft-irtf-cfrg-xchacha §2.2.1', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const nonce = hex('000000090000004a0000000031415927');
    const out = new Uint8Array(32);
    hchacha20Into(key, nonce, out);
    expect(Buffer.from(out).toString('hex')).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  });

  it('agrees with an independent implementation on random keys and nonces, views at odd offsets', () => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 200; i++) {
      const buf = new Uint8Array(randomBytes(64));
      const key = buf.subarray(1, 33);
      const nonce = buf.subarray(33, 57); // a whole XChaCha20 nonce: only its first 16 bytes count
      hchacha20Into(key, nonce, out);
      expect(out).toEqual(hchacha20(key, nonce.subarray(0, 16)));
    }
  });
});
