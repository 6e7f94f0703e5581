/**
 * Blobs: the exact associated data (docs/format.md §Blobs), that it binds type, compression, raw
 * length and id (changing any one fails authentication), the id check after decryption, the
 * "store raw when it does not shrink" rule, and the size limits.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { xchacha20poly1305Open } from '../../src/crypto/xchacha20poly1305.js';
import {
  BLOB_OVERHEAD,
  type BlobMeta,
  blobAad,
  blobId,
  encodeBlob,
  MAX_BLOB_RAW_LENGTH,
  openBlob,
  sealBlob,
} from '../../src/format/blob.js';
import { blake3 } from '../../src/hashing/index.js';
import { COMPRESSIONS, text } from '../fuzz/fixtures.js';
import { caught, expectCode, TEST_KEYS } from './helpers.js';

describe('blobs', () => {
  it('the associated data is "cairn.blob.v1" ‖ type ‖ compression ‖ raw length u32 LE ‖ id', () => {
    const id = new Uint8Array(32).fill(0xab);
    const aad = blobAad({ type: 'tree', compression: 'zstd', rawLength: 0x01020304, id });
    expect(aad.length).toBe(51);
    expect(Buffer.from(aad.subarray(0, 13)).toString('latin1')).toBe('cairn.blob.v1');
    expect([...aad.subarray(13, 19)]).toEqual([1, 2, 0x04, 0x03, 0x02, 0x01]);
    expect(aad.subarray(19)).toEqual(id);
  });

  it('ids are keyed BLAKE3-256 of the raw bytes', () => {
    const raw = text(1000);
    expect(blobId(TEST_KEYS.idKey, raw)).toEqual(blake3(raw, { key: TEST_KEYS.idKey }));
    expect(blobId(TEST_KEYS.idKey, raw)).not.toEqual(blake3(raw));
  });

  it('seals as nonce ‖ ciphertext ‖ tag and opens to the raw bytes, for every compression', () => {
    for (const compression of COMPRESSIONS) {
      const raw = text(4000, 5);
      const b = encodeBlob(TEST_KEYS, 'data', raw, compression);
      expect(b.compression).toBe(compression);
      const payload = xchacha20poly1305Open(
        TEST_KEYS.dataKey,
        b.sealed.subarray(0, 24),
        b.sealed.subarray(24),
        blobAad(b),
      );
      expect(b.sealed.length).toBe(payload.length + BLOB_OVERHEAD);
      if (compression === 'none') expect(payload).toEqual(raw);
      // LZ4 payloads start with the raw length (u32 LE); zstd payloads with the frame magic.
      if (compression === 'lz4') expect(new DataView(payload.buffer, payload.byteOffset).getUint32(0, true)).toBe(4000);
      if (compression === 'zstd') expect([...payload.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
      expect(openBlob(TEST_KEYS, b, b.sealed)).toEqual(raw);
    }
  });

  it('stores the raw bytes (compression none) when compression does not shrink them', () => {
    const raw = new Uint8Array(randomBytes(2000));
    for (const compression of COMPRESSIONS)
      expect(encodeBlob(TEST_KEYS, 'data', raw, compression).compression).toBe('none');
  });

  it('binds type, compression, raw length and id: relabelling any one is AUTH_FAILED', () => {
    const b = encodeBlob(TEST_KEYS, 'data', text(3000), 'lz4');
    const relabelled: BlobMeta[] = [
      { ...b, type: 'tree' },
      { ...b, compression: 'none' },
      { ...b, compression: 'zstd' },
      { ...b, rawLength: b.rawLength - 1 },
      { ...b, id: blobId(TEST_KEYS.idKey, text(3000, 1)) },
    ];
    for (const meta of relabelled) expectCode(() => openBlob(TEST_KEYS, meta, b.sealed), 'AUTH_FAILED');
    // Swapping sealed bytes between two blobs fails too.
    const other = encodeBlob(TEST_KEYS, 'data', text(3000, 2), 'lz4');
    expectCode(() => openBlob(TEST_KEYS, b, other.sealed), 'AUTH_FAILED');
    // Another data key.
    expectCode(() => openBlob({ ...TEST_KEYS, dataKey: new Uint8Array(32) }, b, b.sealed), 'AUTH_FAILED');
  });

  it('checks the id after decryption: a blob sealed under a wrong id or opened with another id key is CORRUPT_DATA', () => {
    const raw = text(500);
    const wrongId = new Uint8Array(32).fill(1);
    const b = sealBlob(TEST_KEYS.dataKey, 'data', wrongId, raw, 'none');
    expectCode(() => openBlob(TEST_KEYS, b, b.sealed), 'CORRUPT_DATA');
    const good = encodeBlob(TEST_KEYS, 'data', raw, 'none');
    expectCode(() => openBlob({ ...TEST_KEYS, idKey: new Uint8Array(32) }, good, good.sealed), 'CORRUPT_DATA');
  });

  it('enforces the limits: sealed shorter than 40 bytes, raw length above 64 MiB', () => {
    const b = encodeBlob(TEST_KEYS, 'data', new Uint8Array(0), 'none');
    expect(b.sealed.length).toBe(BLOB_OVERHEAD);
    expect(openBlob(TEST_KEYS, b, b.sealed)).toEqual(new Uint8Array(0));
    expectCode(() => openBlob(TEST_KEYS, b, b.sealed.subarray(0, 39)), 'CORRUPT_DATA');
    expectCode(() => openBlob(TEST_KEYS, { ...b, rawLength: MAX_BLOB_RAW_LENGTH + 1 }, b.sealed), 'CORRUPT_DATA');
    const big = new Uint8Array(MAX_BLOB_RAW_LENGTH + 1);
    expect(caught(() => sealBlob(TEST_KEYS.dataKey, 'data', new Uint8Array(32), big, 'none')).code).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
