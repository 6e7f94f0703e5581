/**
 * Sealed objects (docs/format.md §Sealed objects): the 12-byte header, round trips for every kind
 * and compression, kind confusion refused, and each header field damaged in turn.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_SEALED_OBJECT_RAW_LENGTH,
  openJson,
  openObject,
  type SealedObjectKind,
  sealJson,
  sealObject,
} from '../../src/format/sealed-object.js';
import { COMPRESSIONS, text } from '../fuzz/fixtures.js';
import { edited, expectCode, resealObject, TEST_KEYS, unsealObject } from './helpers.js';

const KINDS: [SealedObjectKind, number][] = [
  ['config', 1],
  ['index', 2],
  ['snapshot', 3],
  ['lock', 4],
  ['audit', 5],
];
const key = TEST_KEYS.dataKey;

describe('sealed objects', () => {
  it('writes "CRNO" ‖ version 1 ‖ kind ‖ compression ‖ 0 ‖ raw length u32 LE ‖ nonce ‖ ciphertext ‖ tag', () => {
    for (const [kind, code] of KINDS) {
      for (const [ci, compression] of COMPRESSIONS.entries()) {
        const payload = text(3000, code);
        const sealed = sealObject(key, kind, payload, compression);
        expect(Buffer.from(sealed.subarray(0, 4)).toString('latin1')).toBe('CRNO');
        expect([...sealed.subarray(4, 8)]).toEqual([1, code, ci, 0]);
        expect(new DataView(sealed.buffer, sealed.byteOffset).getUint32(8, true)).toBe(3000);
        if (compression === 'none') expect(sealed.length).toBe(12 + 24 + 3000 + 16);
        expect(openObject(key, kind, sealed)).toEqual(payload);
      }
    }
  });

  it('stores the payload raw when compression does not shrink it', () => {
    const sealed = sealObject(key, 'index', new Uint8Array([1, 2, 3]), 'lz4');
    expect(sealed[6]).toBe(0);
    expect(openObject(key, 'index', sealed)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses kind confusion: a snapshot is not an index segment (CORRUPT_DATA)', () => {
    const snapshot = sealJson(key, 'snapshot', { v: 1 });
    for (const [kind] of KINDS.filter(([k]) => k !== 'snapshot'))
      expectCode(() => openObject(key, kind, snapshot), 'CORRUPT_DATA');
    // Rewriting the kind byte to pass the check breaks the seal: the header is the associated data.
    expectCode(
      () =>
        openObject(
          key,
          'index',
          edited(snapshot, (v) => v.setUint8(5, 2)),
        ),
      'AUTH_FAILED',
    );
  });

  it('refuses each damaged header field with the right code', () => {
    const sealed = sealObject(key, 'index', text(2000), 'lz4');
    const open = (b: Uint8Array) => () => openObject(key, 'index', b);
    expectCode(open(edited(sealed, (v) => v.setUint8(0, 0x63))), 'CORRUPT_DATA');
    expectCode(open(edited(sealed, (v) => v.setUint8(4, 2))), 'UNSUPPORTED_VERSION');
    expectCode(open(edited(sealed, (v) => v.setUint8(6, 3))), 'UNSUPPORTED_ALGORITHM');
    expectCode(open(edited(sealed, (v) => v.setUint8(6, 0))), 'AUTH_FAILED');
    expectCode(open(edited(sealed, (v) => v.setUint8(7, 1))), 'CORRUPT_DATA'); // reserved byte must be zero
    expectCode(open(edited(sealed, (v) => v.setUint32(8, 2001, true))), 'AUTH_FAILED');
    expectCode(open(edited(sealed, (v) => v.setUint32(8, MAX_SEALED_OBJECT_RAW_LENGTH + 1, true))), 'CORRUPT_DATA');
    expectCode(open(edited(sealed, (_, b) => (b[20]! ^= 1))), 'AUTH_FAILED'); // nonce
    expectCode(open(edited(sealed, (_, b) => (b[b.length - 1]! ^= 1))), 'AUTH_FAILED'); // tag
    for (const length of [0, 11, 12 + 24 + 15]) expectCode(open(sealed.subarray(0, length)), 'CORRUPT_DATA');
    expectCode(() => openObject(new Uint8Array(32), 'index', sealed), 'AUTH_FAILED');
  });

  it('bounds decompression by the authenticated raw length (resealed with a lying header)', () => {
    const sealed = sealObject(key, 'config', text(5000), 'lz4');
    const { header, payload } = unsealObject(sealed);
    const lying = edited(header, (v) => v.setUint32(8, 4000, true));
    expectCode(() => openObject(key, 'config', resealObject(lying, payload)), 'CORRUPT_DATA');
    expect(openObject(key, 'config', resealObject(header, payload))).toEqual(text(5000));
  });

  it('openJson: a payload that is not UTF-8 JSON is CORRUPT_DATA', () => {
    expect(openJson(key, 'lock', sealJson(key, 'lock', { a: [1, 'é'] }))).toEqual({ a: [1, 'é'] });
    expectCode(() => openJson(key, 'lock', sealObject(key, 'lock', new TextEncoder().encode('{"a":'))), 'CORRUPT_DATA');
    expectCode(
      () => openJson(key, 'lock', sealObject(key, 'lock', new Uint8Array([0x22, 0xff, 0x22]))),
      'CORRUPT_DATA',
    );
  });
});
