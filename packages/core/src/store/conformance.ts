/**
 * The Store conformance suite (in the style of Level's abstract-level suite): every adapter runs
 * it, and its declared capabilities decide which cases apply. A medium that declares no deletes
 * must refuse them with NOT_SUPPORTED; one that declares atomic puts must never show a partial
 * object; and so on. The suite uses node:assert and only needs `describe` and `it` from the test
 * runner, so it works with vitest, node:test or mocha.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CairnError } from '../errors.js';
import type { ObjectInfo, Store } from './store.js';

/** The test-runner functions the suite needs. */
export interface ConformanceRunner {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => Promise<void>, timeoutMs?: number) => void;
}

/** How to make a fresh, empty store for each case, and how to dispose of it. */
export interface ConformanceTarget {
  /** Name shown in the test report. */
  name: string;
  create: () => Promise<Store>;
  /** Called after each case (after `store.close()`), e.g. to remove a temp directory. */
  destroy?: (store: Store) => Promise<void>;
  /** Number of objects for the listing/pagination case (default 1100: past S3's 1000-key pages). */
  listCount?: number;
}

async function expectCode(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CairnError, `${what}: expected a CairnError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: expected code ${code}, got ${err.code} (${err.message})`);
    return true;
  });
}

async function listAll(store: Store, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push(info);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function* pieces(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

/** Registers the conformance cases for `target` with the given test runner. */
export function storeConformanceSuite(runner: ConformanceRunner, target: ConformanceTarget): void {
  const { describe, it } = runner;
  const withStore = (fn: (store: Store) => Promise<void>) => async () => {
    const store = await target.create();
    try {
      await fn(store);
    } finally {
      await store.close();
      await target.destroy?.(store);
    }
  };

  describe(`Store conformance: ${target.name}`, () => {
    it(
      'round-trips bytes, streams and empty objects',
      withStore(async (store) => {
        const a = randomBytes(1000);
        await store.put('data/aa/obj-a', a);
        assert.deepEqual(Buffer.from(await store.get('data/aa/obj-a')), a);
        const big = randomBytes(5 * 1024 * 1024 + 17);
        await store.put('data/bb/obj-big', pieces(big, 256 * 1024), { size: big.length });
        assert.deepEqual(Buffer.from(await store.get('data/bb/obj-big')), big);
        await store.put('empty', new Uint8Array(0));
        assert.equal((await store.get('empty')).length, 0);
        assert.equal((await store.stat('data/bb/obj-big')).size, big.length);
        assert.equal((await store.stat('empty')).size, 0);
      }),
    );

    it(
      "keeps no reference to the caller's buffers once a put has settled",
      withStore(async (store) => {
        const a = randomBytes(300_000);
        const copy = Buffer.from(a);
        await store.put('data/cc/obj-reused', a);
        const parts = [randomBytes(200_000), randomBytes(100_000)];
        const copies = parts.map((p) => Buffer.from(p));
        await store.put(
          'data/cc/obj-stream',
          (async function* () {
            yield* parts;
          })(),
        );
        // The caller reuses its buffers (a pack writer recycles its blocks this way).
        a.fill(0);
        for (const p of parts) p.fill(7);
        // (equals, not deepEqual: a diff of 300 kB would take minutes to print)
        assert.ok(Buffer.from(await store.get('data/cc/obj-reused')).equals(copy), 'object changed with the buffer');
        assert.ok(
          Buffer.from(await store.get('data/cc/obj-stream')).equals(Buffer.concat(copies)),
          'streamed object changed with the buffers',
        );
        // Nor may a caller reach the store's memory through what get returned.
        const got = await store.get('data/cc/obj-reused');
        got.fill(1);
        assert.ok(Buffer.from(await store.get('data/cc/obj-reused')).equals(copy), 'object changed through get');
      }),
    );

    it(
      'reports missing objects as NOT_FOUND',
      withStore(async (store) => {
        await expectCode(store.get('nope'), 'NOT_FOUND', 'get');
        await expectCode(store.stat('index/nope'), 'NOT_FOUND', 'stat');
        await expectCode(store.get('nope', { offset: 1, length: 2 }), 'NOT_FOUND', 'range get');
      }),
    );

    it(
      'reads byte ranges, clamped at the end of the object',
      withStore(async (store) => {
        const a = randomBytes(100_000);
        await store.put('ranged', a);
        assert.deepEqual(Buffer.from(await store.get('ranged', { offset: 10, length: 20 })), a.subarray(10, 30));
        assert.deepEqual(Buffer.from(await store.get('ranged', { offset: 99_990 })), a.subarray(99_990));
        assert.deepEqual(Buffer.from(await store.get('ranged', { offset: 99_990, length: 100 })), a.subarray(99_990));
        assert.equal((await store.get('ranged', { offset: 5, length: 0 })).length, 0);
        assert.equal((await store.get('ranged', { offset: 200_000, length: 5 })).length, 0);
        await expectCode(store.get('ranged', { offset: -1, length: 1 }), 'INVALID_ARGUMENT', 'negative offset');
      }),
    );

    it(
      'reads into a caller buffer with room (or returns a new one), never past the bytes asked for',
      withStore(async (store) => {
        const a = randomBytes(50_000);
        await store.put('into', a);
        const into = new Uint8Array(60_000).fill(7);
        const ranged = await store.get('into', { offset: 100, length: 1000, into });
        assert.deepEqual(Buffer.from(ranged), a.subarray(100, 1100));
        if (ranged.buffer === into.buffer)
          assert.equal(ranged.byteOffset, into.byteOffset, 'read at the start of into');
        assert.ok(
          into.subarray(1000).every((b) => b === 7),
          'bytes past the range must stay untouched',
        );
        assert.deepEqual(Buffer.from(await store.get('into', { into })), a);
        // Too small: the bytes still come back whole.
        assert.deepEqual(Buffer.from(await store.get('into', { into: new Uint8Array(10) })), a);
        // A later read into the same buffer does not change what the store holds.
        into.fill(1);
        assert.deepEqual(Buffer.from(await store.get('into')), a);
      }),
    );

    it(
      'refuses to replace an existing object without overwrite',
      withStore(async (store) => {
        await store.put('keys/k1', Buffer.from('first'));
        await expectCode(store.put('keys/k1', Buffer.from('second')), 'ALREADY_EXISTS', 'put existing');
        assert.equal(Buffer.from(await store.get('keys/k1')).toString(), 'first');
      }),
    );

    it(
      'overwrites only where the medium allows it',
      withStore(async (store) => {
        await store.put('config', Buffer.from('v1'));
        if (store.capabilities.overwrite) {
          await store.put('config', Buffer.from('v2'), { overwrite: true });
          assert.equal(Buffer.from(await store.get('config')).toString(), 'v2');
        } else {
          await expectCode(store.put('config', Buffer.from('v2'), { overwrite: true }), 'NOT_SUPPORTED', 'overwrite');
          assert.equal(Buffer.from(await store.get('config')).toString(), 'v1');
        }
      }),
    );

    it(
      'deletes only where the medium allows it',
      withStore(async (store) => {
        await store.put('locks/l1', Buffer.from('x'));
        if (store.capabilities.deletes) {
          await store.delete('locks/l1');
          await expectCode(store.get('locks/l1'), 'NOT_FOUND', 'get after delete');
          await store.delete('locks/l1'); // idempotent
          assert.deepEqual(await listAll(store, 'locks/'), []);
        } else {
          await expectCode(store.delete('locks/l1'), 'NOT_SUPPORTED', 'delete');
          assert.equal(Buffer.from(await store.get('locks/l1')).toString(), 'x');
        }
      }),
    );

    it(
      'lists by prefix, across pages, without temporary or partial objects',
      withStore(async (store) => {
        const count = target.listCount ?? 1100;
        const names: string[] = [];
        for (let i = 0; i < count; i++) names.push(`index/${i.toString(16).padStart(6, '0')}`);
        for (let i = 0; i < names.length; i += 50) {
          await Promise.all(names.slice(i, i + 50).map((n, j) => store.put(n, Buffer.from([j & 0xff]))));
        }
        await store.put('data/00/p1', randomBytes(10));
        await store.put('data/01/p2', randomBytes(20));
        await store.put('snapshots/s1', randomBytes(3));
        const index = await listAll(store, 'index/');
        assert.equal(index.length, count);
        assert.deepEqual(
          index.map((i) => i.name),
          names,
        );
        assert.ok(index.every((i) => i.size === 1));
        const data = await listAll(store, 'data/');
        assert.deepEqual(
          data.map((d) => [d.name, d.size]),
          [
            ['data/00/p1', 10],
            ['data/01/p2', 20],
          ],
        );
        assert.deepEqual(
          (await listAll(store, 'snap')).map((s) => s.name),
          ['snapshots/s1'],
        );
        assert.deepEqual(await listAll(store, 'nothing/'), []);
        assert.equal((await listAll(store, '')).length, count + 3);
      }),
      120_000,
    );

    it(
      'rejects invalid object names',
      withStore(async (store) => {
        for (const bad of ['', '/abs', 'a/../b', 'a//b', '.hidden', 'a/.tmp', 'sp ace', 'a\\b', 'x/']) {
          await expectCode(store.put(bad, Buffer.from('x')), 'INVALID_ARGUMENT', `put ${JSON.stringify(bad)}`);
          await expectCode(store.get(bad), 'INVALID_ARGUMENT', `get ${JSON.stringify(bad)}`);
        }
      }),
    );

    it(
      'honours an AbortSignal and leaves no object behind',
      withStore(async (store) => {
        const before = new AbortController();
        before.abort();
        await expectCode(store.put('a1', Buffer.from('x'), { signal: before.signal }), 'ABORTED', 'pre-aborted put');
        await expectCode(store.get('a1'), 'NOT_FOUND', 'aborted object');
        const during = new AbortController();
        async function* slow(): AsyncIterable<Uint8Array> {
          yield randomBytes(64 * 1024);
          during.abort();
          yield randomBytes(64 * 1024);
          yield randomBytes(64 * 1024);
        }
        await expectCode(store.put('a2', slow(), { signal: during.signal }), 'ABORTED', 'put aborted mid-stream');
        await expectCode(store.get('a2'), 'NOT_FOUND', 'object aborted mid-stream');
        const get = new AbortController();
        get.abort();
        await store.put('a3', Buffer.from('y'));
        await expectCode(store.get('a3', { signal: get.signal }), 'ABORTED', 'aborted get');
      }),
    );

    it(
      'never shows a partial object when the source fails mid-stream',
      withStore(async (store) => {
        async function* failing(): AsyncIterable<Uint8Array> {
          yield randomBytes(128 * 1024);
          throw new Error('source broke');
        }
        await assert.rejects(store.put('partial', failing()), /source broke/);
        if (store.capabilities.atomicPut) {
          await expectCode(store.get('partial'), 'NOT_FOUND', 'partial object');
          assert.deepEqual(await listAll(store, ''), []);
        }
      }),
    );

    it(
      'handles concurrent puts of distinct objects',
      withStore(async (store) => {
        const items = Array.from(
          { length: 40 },
          (_, i) => [`data/${(i % 4).toString().padStart(2, '0')}/c${i}`, randomBytes(1000 + i)] as const,
        );
        await Promise.all(items.map(([n, b]) => store.put(n, b)));
        for (const [n, b] of items) assert.deepEqual(Buffer.from(await store.get(n)), b);
      }),
    );

    it(
      'keeps retained objects immutable, or refuses retention it cannot honour',
      withStore(async (store) => {
        const until = new Date(Date.now() + 3_600_000);
        if (store.capabilities.immutability) {
          await store.put('snapshots/locked', Buffer.from('keep'), { retainUntil: until });
          if (store.capabilities.deletes) {
            await assert.rejects(store.delete('snapshots/locked'));
          }
          if (store.capabilities.overwrite) {
            await assert.rejects(store.put('snapshots/locked', Buffer.from('x'), { overwrite: true }));
          }
          assert.equal(Buffer.from(await store.get('snapshots/locked')).toString(), 'keep');
        } else {
          await expectCode(
            store.put('snapshots/locked', Buffer.from('keep'), { retainUntil: until }),
            'NOT_SUPPORTED',
            'retention',
          );
          await expectCode(store.get('snapshots/locked'), 'NOT_FOUND', 'refused retained object');
        }
      }),
    );

    it(
      'closes idempotently',
      withStore(async (store) => {
        await store.close();
        await store.close();
      }),
    );
  });
}
