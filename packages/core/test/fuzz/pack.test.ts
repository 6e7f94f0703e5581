/**
 * Fuzzing packs: mutated whole packs (trailer, sealed header, blob area) and mutated header
 * plaintext re-sealed with the right key, so the header parser itself sees the damage. Every
 * case parses the header and opens every blob it lists; the only acceptable failures are
 * CairnErrors with the codes a pack reader documents.
 */
import { describe, expect, it } from 'vitest';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '../../src/crypto/xchacha20poly1305.js';
import type { ErrorCode } from '../../src/errors.js';
import { openBlob } from '../../src/format/blob.js';
import { PACK_TRAILER_LENGTH } from '../../src/format/pack-header.js';
import { parsePackHeader, readPackHeader } from '../../src/format/pack-reader.js';
import { seedPacks, TEST_KEYS } from './fixtures.js';
import { describeFailures, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { mutateBytes, type Rng } from './mutate.js';

const PACK_CODES: ErrorCode[] = ['CORRUPT_DATA', 'AUTH_FAILED', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_ALGORITHM'];
const HEADER_AAD = new TextEncoder().encode('cairn.pack-header.v1');
const seeds = seedPacks();

/** Parses the header (in memory, or through range reads) and opens every blob. */
async function checkPack(pack: Uint8Array, r: Rng): Promise<void> {
  const entries = r.chance(0.3)
    ? await readPackHeader(TEST_KEYS.dataKey, async (o, l) => pack.slice(o, o + l), pack.length)
    : parsePackHeader(TEST_KEYS.dataKey, pack);
  for (const e of entries) openBlob(TEST_KEYS, e, pack.subarray(e.offset, e.offset + e.length));
}

/** Offsets of the fields worth hitting with length tweaks: the trailer's header length. */
const packFields = (p: Uint8Array) => [p.length - PACK_TRAILER_LENGTH, p.length - PACK_TRAILER_LENGTH - 1];

/** Splits a valid pack into blob area, header plaintext; undefined when it is not one. */
function splitPack(pack: Uint8Array): { blobs: Uint8Array; plain: Uint8Array } | undefined {
  try {
    const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
    const headerLength = view.getUint32(pack.length - PACK_TRAILER_LENGTH, true);
    const start = pack.length - PACK_TRAILER_LENGTH - headerLength;
    const sealed = pack.subarray(start, pack.length - PACK_TRAILER_LENGTH);
    const plain = xchacha20poly1305Open(TEST_KEYS.dataKey, sealed.subarray(0, 24), sealed.subarray(24), HEADER_AAD);
    return { blobs: pack.subarray(0, start), plain };
  } catch {
    return undefined;
  }
}

/** A pack from a blob area and header plaintext, sealed with the right key. */
function buildPack(blobs: Uint8Array, plain: Uint8Array, r: Rng): Uint8Array {
  const nonce = r.bytes(24);
  const sealed = xchacha20poly1305Seal(TEST_KEYS.dataKey, nonce, plain, HEADER_AAD);
  const trailer = new Uint8Array(PACK_TRAILER_LENGTH);
  new DataView(trailer.buffer).setUint32(0, 24 + sealed.length, true);
  trailer.set(new TextEncoder().encode('CAIRNPK1'), 4);
  return new Uint8Array(Buffer.concat([blobs, nonce, sealed, trailer]));
}

/** Offsets in header plaintext worth tweaking: the count and every entry's offset/length fields. */
function headerFields(plain: Uint8Array): number[] {
  const out = [4, 8];
  for (let at = 12; at + 50 <= plain.length; at += 50) out.push(at, at + 1, at + 2, at + 10, at + 14);
  return out;
}

describe('fuzz: packs', () => {
  it('whole packs: mutated bytes give typed errors only', async () => {
    maybeWriteSeeds('pack', seeds);
    const report = await runFuzz({
      decoder: 'pack',
      seeds,
      cases: scaled(6000),
      codes: PACK_CODES,
      mutate: (base, r, bases) => mutateBytes(base, r, { others: bases, fieldOffsets: packFields(base) }),
      run: checkPack,
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    // The mutations must reach past the trailer checks: the header's seal must fail as well.
    expect(report.outcomes.AUTH_FAILED ?? 0).toBeGreaterThan(0);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(0);
  });

  it('header plaintext: mutated and re-sealed with the right key, the parser refuses with typed errors', async () => {
    maybeWriteSeeds('pack-header', seeds);
    const report = await runFuzz({
      decoder: 'pack-header',
      seeds,
      cases: scaled(6000),
      codes: PACK_CODES,
      mutate: (base, r, bases) => {
        const parts = splitPack(base);
        if (!parts) return mutateBytes(base, r, { others: bases });
        const m = mutateBytes(parts.plain, r, { fieldOffsets: headerFields(parts.plain) });
        return { bytes: buildPack(parts.blobs, m.bytes, r), ops: m.ops };
      },
      run: checkPack,
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    // Re-sealing works: the parser's own checks fire (not only the seal's), and some version
    // or compression ids are refused as unknown.
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 4);
    expect((report.outcomes.UNSUPPORTED_VERSION ?? 0) + (report.outcomes.UNSUPPORTED_ALGORITHM ?? 0)).toBeGreaterThan(
      0,
    );
  });
});
