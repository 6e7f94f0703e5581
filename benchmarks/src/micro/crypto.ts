/**
 * AEAD micro-benchmarks: XChaCha20-Poly1305 seal and open of the random dataset as 1 MiB blobs
 * (a fresh random nonce per blob, as the pack writer does). Speed does not depend on content.
 */
import { randomNonce, xchacha20poly1305Open, xchacha20poly1305Seal } from '@cairn/core';
import { MiB } from '../harness.js';
import type { MicroSuite } from './index.js';

const BLOB = MiB;

export const cryptoSuite: MicroSuite = {
  group: 'crypto',
  cases: ({ random }) => {
    const key = new Uint8Array(32).fill(9);
    const aad = new Uint8Array(16).fill(1);
    const blobs: Uint8Array[] = [];
    for (let off = 0; off < random.data.length; off += BLOB) blobs.push(random.data.subarray(off, off + BLOB));
    let sealed: { nonce: Uint8Array; data: Uint8Array }[] = [];
    const sealAll = () => {
      sealed = blobs.map((b) => {
        const nonce = randomNonce();
        return { nonce, data: xchacha20poly1305Seal(key, nonce, b, aad) };
      });
    };
    return [
      { group: 'crypto', name: 'xchacha20poly1305 seal 1MiB blobs', dataset: random, run: sealAll },
      {
        group: 'crypto',
        name: 'xchacha20poly1305 open 1MiB blobs',
        dataset: random,
        setup: sealAll,
        run: () => {
          for (const s of sealed) xchacha20poly1305Open(key, s.nonce, s.data, aad);
        },
      },
    ];
  },
};
