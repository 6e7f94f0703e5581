/**
 * Fuzzing sealed objects (`openObject`): mutated sealed bytes (header, nonce, ciphertext), and
 * mutated header-plus-payload re-sealed with the right key, so that the kind, compression and
 * raw-length checks and the bounded decompression behind the seal are exercised too.
 */
import { describe, expect, it } from 'vitest';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '../../src/crypto/xchacha20poly1305.js';
import { encodeIndexSegment } from '../../src/format/index-segment.js';
import { openJson, openObject, type SealedObjectKind, sealJson, sealObject } from '../../src/format/sealed-object.js';
import { COMPRESSIONS, sampleSnapshot, TEST_KEYS, text } from './fixtures.js';
import { describeFailures, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { mutateBytes, type Rng } from './mutate.js';

const KINDS: SealedObjectKind[] = ['config', 'index', 'snapshot', 'lock', 'audit'];

function seeds(): Uint8Array[] {
  return [
    sealObject(TEST_KEYS.dataKey, 'index', encodeIndexSegment({ supersedes: [], packs: [] })),
    sealJson(TEST_KEYS.dataKey, 'snapshot', sampleSnapshot(), COMPRESSIONS.at(-1)),
    sealJson(TEST_KEYS.dataKey, 'lock', {
      v: 1,
      exclusive: false,
      host: 'h',
      pid: 1,
      user: 'u',
      time: 'now',
      operation: 'x',
    }),
    sealObject(TEST_KEYS.dataKey, 'config', text(3000), 'lz4'),
    sealObject(TEST_KEYS.dataKey, 'audit', new Uint8Array(0)),
  ];
}

/** Header (12 bytes) ‖ decrypted payload of a valid sealed object; undefined if it is not one. */
function unseal(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 12 + 24 + 16) return undefined;
  try {
    const header = bytes.subarray(0, 12);
    const payload = xchacha20poly1305Open(TEST_KEYS.dataKey, bytes.subarray(12, 36), bytes.subarray(36), header);
    return new Uint8Array(Buffer.concat([header, payload]));
  } catch {
    return undefined;
  }
}

/** Seals header ‖ payload again with the right key (the header is the associated data). */
function reseal(plain: Uint8Array, r: Rng): Uint8Array {
  const header = plain.subarray(0, Math.min(12, plain.length));
  const nonce = r.bytes(24);
  const ct = xchacha20poly1305Seal(TEST_KEYS.dataKey, nonce, plain.subarray(header.length), header);
  return new Uint8Array(Buffer.concat([header, nonce, ct]));
}

describe('fuzz: sealed objects', () => {
  it('mutated and re-sealed objects give typed errors only, for every expected kind', async () => {
    const s = seeds();
    maybeWriteSeeds('sealed-object', s);
    const report = await runFuzz({
      decoder: 'sealed-object',
      seeds: s,
      cases: scaled(8000),
      codes: ['CORRUPT_DATA', 'AUTH_FAILED', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_ALGORITHM'],
      mutate: (base, r, bases) => {
        const plain = r.chance(0.6) ? unseal(base) : undefined;
        if (!plain) return mutateBytes(base, r, { others: bases, fieldOffsets: [4, 5, 6, 7, 8] });
        const m = mutateBytes(plain, r, { fieldOffsets: [5, 6, 8, 12], maxLength: plain.length + 256 });
        return { bytes: reseal(m.bytes, r), ops: ['reseal', ...m.ops] };
      },
      run: (input, r) => {
        // Mostly the kind the object claims (to get past the kind check), sometimes any kind.
        const claimed = KINDS[(input[5] ?? 0) - 1];
        const kind = claimed && r.chance(0.8) ? claimed : r.pick(KINDS);
        if (r.chance(0.5)) openObject(TEST_KEYS.dataKey, kind, input);
        else openJson(TEST_KEYS.dataKey, kind, input);
      },
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.AUTH_FAILED ?? 0).toBeGreaterThan(report.cases / 10);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 4);
  });
});
