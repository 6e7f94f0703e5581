import { describe, expect, it } from 'vitest';
import {
  calibrateScrypt,
  createKeyFile,
  deriveKeyAhead,
  generateMasterKeys,
  openKeyFile,
  readKeyFileInfo,
  startedKeyDerivations,
} from '../../src/crypto/index.js';
import { deriveKeyFromPassword } from '../../src/crypto/kdf.js';
import { type CairnError, isCairnError } from '../../src/errors.js';

/** Cheap KDF cost for tests; the defaults are exercised once below. */
const FAST = { scrypt: { N: 1024, r: 8, p: 1 } };
const FAST_ARGON = { kdf: 'argon2id' as const, argon2id: { memoryKiB: 1024, iterations: 1, parallelism: 1 } };

async function rejected(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (err) {
    expect(isCairnError(err), String(err)).toBe(true);
    return err as CairnError;
  }
  return expect.fail('expected a CairnError');
}

type Doc = Record<string, unknown> & { kdf: Record<string, unknown> };
const parse = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Doc;
const serialise = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));

describe('key files', () => {
  const master = generateMasterKeys();
  const createdAt = new Date('2025-03-04T05:06:07.089Z');

  it('round-trip the master keys and record who made them', async () => {
    const file = await createKeyFile(master, 'correct horse', {
      ...FAST,
      host: 'ward-7',
      username: 'nurse',
      createdAt,
    });
    const { master: opened, info } = await openKeyFile(file, 'correct horse');
    expect(opened).toEqual(master);
    expect(info).toEqual({
      version: 1,
      created: '2025-03-04T05:06:07.089Z',
      host: 'ward-7',
      username: 'nurse',
      kdf: 'scrypt N=1024 r=8 p=1',
      kdfParams: { algorithm: 'scrypt', N: 1024, r: 8, p: 1 },
    });
    expect(readKeyFileInfo(file)).toEqual(info);
  });

  it('are human-readable versioned JSON with no secret in clear', async () => {
    const file = await createKeyFile(master, 'pw', FAST);
    const doc = parse(file);
    expect(Object.keys(doc)).toEqual([
      'format',
      'version',
      'created',
      'host',
      'username',
      'kdf',
      'cipher',
      'nonce',
      'sealedKeys',
    ]);
    expect(doc).toMatchObject({ format: 'cairn-key', version: 1, cipher: 'xchacha20-poly1305' });
    expect(Buffer.from(doc.sealedKeys as string, 'base64')).toHaveLength(105 + 16);
    expect(Buffer.from(doc.kdf.salt as string, 'base64')).toHaveLength(32);
    const text = new TextDecoder().decode(file);
    expect(text).not.toContain(Buffer.from(master.dataKey).toString('base64'));
    expect(text).not.toContain(Buffer.from(master.dataKey).toString('hex'));
  });

  it('take byte passwords, and NFC-normalise string passwords', async () => {
    const bytesPw = new Uint8Array([0, 1, 2, 255]);
    expect((await openKeyFile(await createKeyFile(master, bytesPw, FAST), bytesPw)).master).toEqual(master);
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    const file = await createKeyFile(master, composed, FAST);
    expect((await openKeyFile(file, decomposed)).master).toEqual(master);
  });

  it('say WRONG_PASSWORD for a wrong password', async () => {
    const file = await createKeyFile(master, 'right', FAST);
    for (const pw of ['wrong', 'Right', 'right ', '']) {
      const err = await rejected(openKeyFile(file, pw));
      expect(err.code).toBe('WRONG_PASSWORD');
      expect(err.message).toMatch(/wrong password/);
    }
  });

  it('bind every header field: altering one makes the file unopenable', async () => {
    const file = await createKeyFile(master, 'pw', { ...FAST, host: 'h', username: 'u', createdAt });
    const doc = parse(file);
    const otherSalt = Buffer.alloc(32, 7).toString('base64');
    const variants: Doc[] = [
      { ...doc, host: 'h2' },
      { ...doc, username: 'u2' },
      { ...doc, created: '2025-03-04T05:06:07.090Z' },
      { ...doc, kdf: { ...doc.kdf, N: 2048 } },
      { ...doc, kdf: { ...doc.kdf, r: 4 } },
      { ...doc, kdf: { ...doc.kdf, salt: otherSalt } },
      { ...doc, nonce: Buffer.alloc(24, 1).toString('base64') },
    ];
    const sealed = Buffer.from(doc.sealedKeys as string, 'base64');
    for (const i of [0, 50, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x80;
      variants.push({ ...doc, sealedKeys: bad.toString('base64') });
    }
    for (const v of variants) expect((await rejected(openKeyFile(serialise(v), 'pw'))).code).toBe('WRONG_PASSWORD');
    expect((await openKeyFile(serialise(doc), 'pw')).master).toEqual(master); // re-serialised but unaltered
  });

  it('refuse malformed files with CORRUPT_DATA naming the field', async () => {
    const doc = parse(await createKeyFile(master, 'pw', FAST));
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0xff, 0xfe]), 'file'],
      [new TextEncoder().encode('{"format": "cairn-key",'), 'file'],
      [serialise([1, 2]), 'file'],
      [new Uint8Array(70_000).fill(32), 'file'],
      [serialise({ ...doc, format: 'restic' }), 'format'],
      [serialise({ ...doc, version: '1' }), 'version'],
      [serialise({ ...doc, extra: true }), 'extra'],
      [serialise({ ...doc, created: 'yesterday' }), 'created'],
      [serialise({ ...doc, created: '2025-03-04' }), 'created'],
      [serialise({ ...doc, host: 7 }), 'host'],
      [serialise({ ...doc, username: null }), 'username'],
      [serialise({ ...doc, kdf: 'scrypt' }), 'kdf'],
      [serialise({ ...doc, kdf: { ...doc.kdf, N: 1000 } }), 'kdf.N'],
      [serialise({ ...doc, kdf: { ...doc.kdf, N: 2 ** 30 } }), 'kdf.N'],
      [serialise({ ...doc, kdf: { ...doc.kdf, p: 0 } }), 'kdf.p'],
      [serialise({ ...doc, kdf: { ...doc.kdf, salt: 'AAAA' } }), 'kdf.salt'],
      [serialise({ ...doc, kdf: { ...doc.kdf, salt: '!!!!' } }), 'kdf.salt'],
      [serialise({ ...doc, kdf: { ...doc.kdf, cost: 1 } }), 'kdf.cost'],
      [serialise({ ...doc, nonce: Buffer.alloc(12).toString('base64') }), 'nonce'],
      [serialise({ ...doc, nonce: undefined }), 'nonce'],
      [serialise({ ...doc, sealedKeys: Buffer.alloc(16).toString('base64') }), 'sealedKeys'],
      [serialise({ ...doc, sealedKeys: `${doc.sealedKeys}\n` }), 'sealedKeys'],
    ];
    for (const [bytes, field] of cases) {
      const err = await rejected(openKeyFile(bytes, 'pw'));
      expect(err.code, `${field}: ${err.message}`).toBe('CORRUPT_DATA');
      expect(err.details?.field).toBe(field);
    }
  });

  it('refuse unknown versions and algorithms with their own codes', async () => {
    const doc = parse(await createKeyFile(master, 'pw', FAST));
    expect((await rejected(openKeyFile(serialise({ ...doc, version: 2 }), 'pw'))).code).toBe('UNSUPPORTED_VERSION');
    const pbkdf2 = { ...doc, kdf: { ...doc.kdf, algorithm: 'pbkdf2' } };
    expect((await rejected(openKeyFile(serialise(pbkdf2), 'pw'))).code).toBe('UNSUPPORTED_ALGORITHM');
    const aes = { ...doc, cipher: 'aes-256-gcm' };
    expect((await rejected(openKeyFile(serialise(aes), 'pw'))).code).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('refuse an empty password, bad KDF costs and bad master keys when creating', async () => {
    expect((await rejected(createKeyFile(master, '', FAST))).code).toBe('INVALID_ARGUMENT');
    expect((await rejected(createKeyFile(master, new Uint8Array(0), FAST))).code).toBe('INVALID_ARGUMENT');
    const badN = await rejected(createKeyFile(master, 'pw', { scrypt: { N: 1000, r: 8, p: 1 } }));
    expect(badN.code).toBe('INVALID_ARGUMENT');
    expect(badN.details?.field).toBe('kdf.N');
    const badArgon = { kdf: 'argon2id' as const, argon2id: { memoryKiB: 4, iterations: 1, parallelism: 1 } };
    expect((await rejected(createKeyFile(master, 'pw', badArgon))).details?.field).toBe('kdf.memoryKiB');
    const badKeys = { ...master, idKey: new Uint8Array(16) };
    expect((await rejected(createKeyFile(badKeys, 'pw', FAST))).details?.field).toBe('idKey');
    expect((await rejected(createKeyFile(master, 'pw', { ...FAST, createdAt: new Date(Number.NaN) }))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('work with Argon2id', async () => {
    const file = await createKeyFile(master, 'pw', FAST_ARGON);
    expect(parse(file).kdf).toMatchObject({ algorithm: 'argon2id', memoryKiB: 1024, iterations: 1, parallelism: 1 });
    expect((await openKeyFile(file, 'pw')).master).toEqual(master);
    expect(readKeyFileInfo(file).kdf).toBe('argon2id memoryKiB=1024 iterations=1 parallelism=1');
    expect((await rejected(openKeyFile(file, 'nope'))).code).toBe('WRONG_PASSWORD');
  });

  it('use scrypt N=2^17 r=8 p=1 by default, and a wrong password fails in one KDF run', async () => {
    const file = await createKeyFile(master, 'default cost');
    expect(parse(file).kdf).toMatchObject({ algorithm: 'scrypt', N: 131072, r: 8, p: 1 });
    const t0 = performance.now();
    expect((await openKeyFile(file, 'default cost')).master).toEqual(master);
    const okMs = performance.now() - t0;
    const t1 = performance.now();
    expect((await rejected(openKeyFile(file, 'wrong'))).code).toBe('WRONG_PASSWORD');
    expect(performance.now() - t1).toBeLessThan(okMs * 3 + 1000);
  });

  it('use Argon2id 64 MiB, t=3, p=4 by default', async () => {
    const file = await createKeyFile(master, 'pw', { kdf: 'argon2id' });
    expect(parse(file).kdf).toMatchObject({ algorithm: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 4 });
    expect((await openKeyFile(file, 'pw')).master).toEqual(master);
  });
});

describe('password KDFs match published values', () => {
  it('scrypt: RFC 7914 section 12 ("password", "NaCl", N=1024, r=8, p=16), first 32 bytes', async () => {
    const key = await deriveKeyFromPassword('password', {
      algorithm: 'scrypt',
      N: 1024,
      r: 8,
      p: 16,
      salt: new TextEncoder().encode('NaCl'),
    });
    expect(Buffer.from(key).toString('hex')).toBe('fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162');
  });

  it('argon2id: reference implementation ("password", "somesalt", t=2, m=64 MiB, p=1)', async () => {
    const key = await deriveKeyFromPassword('password', {
      algorithm: 'argon2id',
      memoryKiB: 65536,
      iterations: 2,
      parallelism: 1,
      salt: new TextEncoder().encode('somesalt'),
    });
    expect(Buffer.from(key).toString('hex')).toBe('09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7');
  });

  it('calibrateScrypt picks a power of two between 2^15 and 2^20 with r=8, p=1', async () => {
    const params = await calibrateScrypt(50);
    expect(params.r).toBe(8);
    expect(params.p).toBe(1);
    expect(Number.isInteger(Math.log2(params.N))).toBe(true);
    expect(params.N).toBeGreaterThanOrEqual(2 ** 15);
    expect(params.N).toBeLessThanOrEqual(2 ** 20);
  });
});

describe('key derivation started ahead (deriveKeyAhead)', () => {
  const master = generateMasterKeys();

  it('is taken by the next opening of the same file with the same password', async () => {
    const file = await createKeyFile(master, 'correct horse', FAST);
    expect(deriveKeyAhead(file, 'correct horse')).toBe(true);
    expect(startedKeyDerivations()).toBe(1);
    let started = 0;
    const { master: opened } = await openKeyFile(file, 'correct horse', { onKeyDerivation: () => started++ });
    expect(opened).toEqual(master);
    expect(started).toBe(1); // callers waiting for the derivation are still told it is under way
    expect(startedKeyDerivations()).toBe(0);
  });

  it('is never used for another password or another key file', async () => {
    const file = await createKeyFile(master, 'correct horse', FAST);
    const other = await createKeyFile(master, 'correct horse', FAST); // same cost, another salt
    expect(deriveKeyAhead(file, 'wrong horse')).toBe(true);
    expect((await openKeyFile(file, 'correct horse')).master).toEqual(master);
    expect((await openKeyFile(other, 'correct horse')).master).toEqual(master);
    expect(startedKeyDerivations()).toBe(1); // still waiting for its own opening
    expect((await rejected(openKeyFile(file, 'wrong horse'))).code).toBe('WRONG_PASSWORD');
    expect(startedKeyDerivations()).toBe(0);
  });

  it('starts nothing for a malformed file, for Argon2id, or beyond two at once', async () => {
    const file = await createKeyFile(master, 'pw', FAST);
    expect(deriveKeyAhead(new TextEncoder().encode('{"format":"cairn-key"}'), 'pw')).toBe(false);
    expect(deriveKeyAhead(await createKeyFile(master, 'pw', FAST_ARGON), 'pw')).toBe(false);
    expect(startedKeyDerivations()).toBe(0);
    expect(deriveKeyAhead(file, 'a')).toBe(true);
    expect(deriveKeyAhead(file, 'b')).toBe(true);
    expect(deriveKeyAhead(file, 'pw')).toBe(false);
    for (const pw of ['a', 'b']) expect((await rejected(openKeyFile(file, pw))).code).toBe('WRONG_PASSWORD');
    expect(startedKeyDerivations()).toBe(0);
  });
});
