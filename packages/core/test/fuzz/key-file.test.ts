/**
 * Fuzzing key files and the master-key encoding: mutated key-file JSON (bytes and structure) is
 * parsed by `readKeyFileInfo` every time and opened with the password by `openKeyFile` for a share
 * of the cases (each open runs the KDF: scrypt at N=2^10, Argon2id at 64 KiB). The master-key
 * decoder, which only sees authenticated bytes in practice, is fuzzed directly.
 */
import { describe, expect, it } from 'vitest';
import { openKeyFile, readKeyFileInfo } from '../../src/crypto/key-file.js';
import { decodeMasterKeys, encodeMasterKeys } from '../../src/crypto/master-keys.js';
import { seedKeyFiles, TEST_KEYS, TEST_PASSWORD } from './fixtures.js';
import { describeFailures, maybeWriteSeeds, runFuzz, scaled } from './harness.js';
import { JSON_TOKENS, mutateBytes, mutateDeep, mutateJson, type Rng } from './mutate.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const FIELDS = ['host', 'username', 'created', 'nonce', 'sealedKeys', 'kdf.salt'];

/**
 * Replaces one character of a string field with another of the base64 alphabet: the file stays
 * well-formed more often than not, so the KDF, the seal and the master-key decoder are reached.
 */
function mutateValue(base: Uint8Array, r: Rng): { bytes: Uint8Array; ops: string[] } | undefined {
  let doc: Record<string, Record<string, unknown>>;
  try {
    doc = JSON.parse(Buffer.from(base).toString('utf8'));
  } catch {
    return undefined;
  }
  const field = r.pick(FIELDS);
  const [a, b] = field.split('.') as [string, string | undefined];
  const holder = (b ? doc[a] : doc) as Record<string, unknown> | undefined;
  const value = holder?.[b ?? a];
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const at = r.below(value.length);
  holder![b ?? a] = value.slice(0, at) + B64[r.below(64)] + value.slice(at + 1);
  return { bytes: new Uint8Array(Buffer.from(JSON.stringify(doc, null, 2))), ops: [`value@${field}`] };
}

describe('fuzz: key files', () => {
  it('mutated key files give typed errors only (inspect always, open with the password often)', async () => {
    const seeds = await seedKeyFiles();
    maybeWriteSeeds('key-file', seeds);
    let opened = 0;
    const report = await runFuzz({
      decoder: 'key-file',
      seeds,
      cases: scaled(4000),
      codes: ['CORRUPT_DATA', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_ALGORITHM', 'WRONG_PASSWORD'],
      // A mutated cost can make one KDF run up to 512 times dearer than the seed's (p=16, r=32).
      budgetMs: 3000,
      mutate: (base, r, bases) => {
        if (r.chance(0.25)) {
          const m = mutateValue(base, r);
          if (m) return m;
        }
        if (r.chance(0.5)) return mutateBytes(base, r, { others: bases, dictionary: JSON_TOKENS });
        try {
          const doc = JSON.parse(Buffer.from(base).toString('utf8'));
          const deep = r.chance(0.05) ? mutateDeep(doc, r) : undefined;
          if (deep) return deep;
          const m = mutateJson(doc, r);
          return { bytes: new Uint8Array(Buffer.from(JSON.stringify(m.value, null, 2) ?? 'null')), ops: m.ops };
        } catch {
          return mutateBytes(base, r, { dictionary: JSON_TOKENS });
        }
      },
      run: async (input, r) => {
        if (r.chance(0.7)) {
          readKeyFileInfo(input);
          return;
        }
        opened++;
        const { master } = await openKeyFile(input, TEST_PASSWORD);
        // Only a key file whose authenticated fields are intact opens, and then to the same keys.
        if (!Buffer.from(master.dataKey).equals(TEST_KEYS.dataKey)) throw new Error('opened to other keys');
      },
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(opened).toBeGreaterThan(report.cases / 5);
    // Mutations reach the KDF and the seal often enough to matter.
    expect(report.outcomes.WRONG_PASSWORD ?? 0).toBeGreaterThan(report.cases / 50);
    expect(report.outcomes.CORRUPT_DATA ?? 0).toBeGreaterThan(report.cases / 4);
  });

  it('mutated master-key encodings give CORRUPT_DATA or UNSUPPORTED_VERSION only', async () => {
    const seeds = [encodeMasterKeys(TEST_KEYS)];
    maybeWriteSeeds('master-keys', seeds);
    const report = await runFuzz({
      decoder: 'master-keys',
      seeds,
      cases: scaled(2000),
      codes: ['CORRUPT_DATA', 'UNSUPPORTED_VERSION'],
      mutate: (base, r) => mutateBytes(base, r, { fieldOffsets: [0] }),
      run: (input) => decodeMasterKeys(input),
    });
    expect(report.failures, describeFailures(report)).toEqual([]);
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
  });
});
