/**
 * Deterministic benchmark inputs: incompressible random bytes and compressible English-like text.
 * Generated in memory from a fixed seed so every run and every machine measures the same bytes.
 */
import { createCipheriv } from 'node:crypto';
import type { Dataset } from './harness.js';

/** Random bytes from AES-CTR keyed by `seed`: fast and reproducible. */
export function randomBytesSeeded(size: number, seed = 1): Uint8Array {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed >>> 0, 0);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const out = new Uint8Array(size);
  const zeros = Buffer.alloc(Math.min(size, 1 << 20));
  for (let off = 0; off < size; off += zeros.length) {
    const n = Math.min(zeros.length, size - off);
    out.set(cipher.update(zeros.subarray(0, n)), off);
  }
  return out;
}

const WORDS = (
  'patient record admission discharge laboratory result imaging study report physician nurse ward ' +
  'medication dose allergy diagnosis procedure referral appointment billing insurance consent ' +
  'the of and to in is was for on with as by at from that this which are be an or has have not ' +
  'blood pressure heart rate temperature oxygen saturation glucose creatinine hemoglobin platelet ' +
  'normal abnormal pending final amended critical routine urgent stat follow-up observation'
).split(' ');

/** English-like text with numbers and line structure; compresses roughly 3-4x with LZ4. */
export function textSeeded(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const enc = new TextEncoder();
  const encoded = WORDS.map((w) => enc.encode(w));
  let off = 0;
  let col = 0;
  while (off < size) {
    const r = next();
    let piece: Uint8Array;
    if (r % 11 === 0) piece = enc.encode(String(r % 100000));
    else piece = encoded[r % encoded.length]!;
    const n = Math.min(piece.length, size - off);
    out.set(piece.subarray(0, n), off);
    off += n;
    col += n;
    if (off < size) {
      out[off++] = col > 72 ? 10 : 32;
      if (col > 72) col = 0;
    }
  }
  return out;
}

export function makeDatasets(size: number): { random: Dataset; text: Dataset } {
  return {
    random: { name: 'random', data: randomBytesSeeded(size) },
    text: { name: 'text', data: textSeeded(size) },
  };
}
