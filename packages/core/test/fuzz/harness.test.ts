/**
 * Self-tests of the fuzz machinery: the PRNG and mutators are deterministic and never touch their
 * input, every mutation kind fires, and the runner really reports foreign exceptions, unexpected
 * codes and slow cases (so the decoder fuzz tests can fail).
 */
import { describe, expect, it } from 'vitest';
import { CairnError } from '../../src/errors.js';
import { runFuzz } from './harness.js';
import { caseSeed, mutateBytes, mutateJson, Rng } from './mutate.js';

const input = new Uint8Array(Buffer.from('{"v":1,"entries":[{"name":"a","size":12}]}'));

describe('fuzz machinery', () => {
  it('is deterministic per seed and leaves its input alone (even a Buffer, whose slice shares memory)', () => {
    const buf = Buffer.from(input);
    const a = mutateBytes(buf, new Rng(42), { others: [input], dictionary: [new Uint8Array([0x22])] });
    const b = mutateBytes(buf, new Rng(42), { others: [input], dictionary: [new Uint8Array([0x22])] });
    expect(a).toEqual(b);
    expect(buf.equals(input)).toBe(true);
    expect(new Rng(1).u32()).not.toBe(new Rng(2).u32());
    expect(caseSeed(1, 'pack', 3)).toBe(caseSeed(1, 'pack', 3));
    expect(caseSeed(1, 'pack', 3)).not.toBe(caseSeed(1, 'pack', 4));
    const doc = JSON.parse(Buffer.from(input).toString());
    const snapshot = JSON.stringify(doc);
    expect(mutateJson(doc, new Rng(7))).toEqual(mutateJson(doc, new Rng(7)));
    expect(JSON.stringify(doc)).toBe(snapshot);
  });

  it('fires every mutation kind and changes the input most of the time', () => {
    const kinds = new Set<string>();
    let changed = 0;
    for (let i = 0; i < 500; i++) {
      const m = mutateBytes(input, new Rng(i), {
        others: [input],
        dictionary: [new Uint8Array([0x5b])],
        fieldOffsets: [2],
      });
      for (const op of m.ops) kinds.add(op);
      if (!Buffer.from(m.bytes).equals(input)) changed++;
    }
    expect([...kinds].sort()).toEqual(
      ['bitflip', 'byteset', 'delete', 'duplicate', 'extend', 'length', 'splice', 'token', 'truncate'].sort(),
    );
    expect(changed).toBeGreaterThan(450);
    const jsonOps = new Set<string>();
    for (let i = 0; i < 200; i++)
      for (const op of mutateJson({ a: [1, 2], b: { c: 'x' } }, new Rng(i)).ops) jsonOps.add(op.split('@')[0]!);
    expect([...jsonOps].sort()).toEqual(['add', 'delete', 'dup-or-swap', 'set']);
  });

  it('reports foreign exceptions, unexpected codes and slow cases, and counts the rest', async () => {
    let n = 0;
    const report = await runFuzz({
      decoder: 'harness-self-test',
      seeds: [input],
      cases: 8,
      codes: ['CORRUPT_DATA'],
      budgetMs: 20,
      saveFailures: false,
      mutate: (base) => ({ bytes: base, ops: ['none'] }),
      run: () => {
        const i = n++;
        if (i === 0) throw new TypeError('leaked');
        if (i === 1) throw new CairnError('AUTH_FAILED', 'not expected here');
        if (i === 2) {
          const until = performance.now() + 40;
          while (performance.now() < until) {}
        }
        if (i === 3) throw new CairnError('CORRUPT_DATA', 'fine');
      },
    });
    expect(report.cases).toBe(8);
    expect(report.failures.map((f) => [f.caseIndex, f.what.split(' ')[0]])).toEqual([
      [0, 'unexpected'],
      [1, 'unexpected'],
      [2, 'took'],
    ]);
    expect(report.outcomes).toEqual({ failure: 2, ok: 5, CORRUPT_DATA: 1 });
  });
});
