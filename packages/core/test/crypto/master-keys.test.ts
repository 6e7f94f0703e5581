import { describe, expect, it } from 'vitest';
import {
  decodeMasterKeys,
  encodeMasterKeys,
  generateMasterKeys,
  MASTER_KEYS_LENGTH,
  type MasterKeys,
} from '../../src/crypto/index.js';
import { type CairnError, isCairnError } from '../../src/errors.js';

function caught(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    return err as CairnError;
  }
  return expect.fail('expected a CairnError');
}

const fixed: MasterKeys = {
  dataKey: new Uint8Array(32).fill(0x11),
  idKey: new Uint8Array(32).fill(0x22),
  macKey: new Uint8Array(32).fill(0x33),
  chunkerSeed: 0x0102030405060708n,
};

describe('master keys', () => {
  it('are generated fresh: three 32-byte keys and a 64-bit seed', () => {
    const a = generateMasterKeys();
    const b = generateMasterKeys();
    for (const k of [a.dataKey, a.idKey, a.macKey]) expect(k).toHaveLength(32);
    expect(a.chunkerSeed >= 0n && a.chunkerSeed < 1n << 64n).toBe(true);
    expect(Buffer.from(a.dataKey).equals(Buffer.from(b.dataKey))).toBe(false);
    expect(Buffer.from(a.dataKey).equals(Buffer.from(a.idKey))).toBe(false);
  });

  it('encode to the documented 105-byte v1 layout', () => {
    const bytes = encodeMasterKeys(fixed);
    expect(bytes).toHaveLength(MASTER_KEYS_LENGTH);
    expect(MASTER_KEYS_LENGTH).toBe(105);
    expect(bytes[0]).toBe(1);
    expect(bytes.subarray(1, 33).every((b) => b === 0x11)).toBe(true);
    expect(bytes.subarray(33, 65).every((b) => b === 0x22)).toBe(true);
    expect(bytes.subarray(65, 97).every((b) => b === 0x33)).toBe(true);
    expect([...bytes.subarray(97)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('round-trip exactly, including seeds at the edges of 64 bits', () => {
    for (const chunkerSeed of [0n, 1n, (1n << 63n) + 5n, (1n << 64n) - 1n]) {
      const keys = { ...generateMasterKeys(), chunkerSeed };
      expect(decodeMasterKeys(encodeMasterKeys(keys))).toEqual(keys);
    }
  });

  it('decode into copies the caller may wipe', () => {
    const bytes = encodeMasterKeys(fixed);
    const keys = decodeMasterKeys(bytes);
    bytes.fill(0);
    expect(keys).toEqual(fixed);
  });

  it('refuse malformed keys when encoding (INVALID_ARGUMENT naming the field)', () => {
    for (const field of ['dataKey', 'idKey', 'macKey'] as const) {
      const err = caught(() => encodeMasterKeys({ ...fixed, [field]: new Uint8Array(31) }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.details?.field).toBe(field);
    }
    for (const chunkerSeed of [-1n, 1n << 64n, 5 as unknown as bigint]) {
      expect(caught(() => encodeMasterKeys({ ...fixed, chunkerSeed })).details?.field).toBe('chunkerSeed');
    }
  });

  it('refuse a wrong length (CORRUPT_DATA) and an unknown version (UNSUPPORTED_VERSION)', () => {
    const bytes = encodeMasterKeys(fixed);
    for (const bad of [new Uint8Array(0), bytes.subarray(0, 104), new Uint8Array([...bytes, 0])]) {
      expect(caught(() => decodeMasterKeys(bad)).code).toBe('CORRUPT_DATA');
    }
    const v2 = new Uint8Array(bytes);
    v2[0] = 2;
    const err = caught(() => decodeMasterKeys(v2));
    expect(err.code).toBe('UNSUPPORTED_VERSION');
    expect(err.message).toContain('byte 0');
  });
});
