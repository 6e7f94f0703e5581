/**
 * Trees (docs/format.md §Trees): the JSON encoding field by field, sorting by raw name bytes,
 * non-UTF-8 names and symlink targets kept exactly (base64 in `nameRaw` / `targetRaw`), content
 * lists, continuations, and the names and documents a reader must refuse.
 */
import { describe, expect, it } from 'vitest';
import {
  compareNames,
  decodeContentList,
  decodeTree,
  encodeContentList,
  encodeTree,
  type TreeNode,
} from '../../src/format/tree.js';
import { sampleFile, seedTrees } from '../fuzz/fixtures.js';
import { expectCode } from './helpers.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (raw: Uint8Array) =>
  JSON.parse(new TextDecoder().decode(raw)) as { v: number; entries: Record<string, unknown>[] };

describe('trees', () => {
  it('encodes every field as docs/format.md lists it', () => {
    const doc = parse(encodeTree({ nodes: [sampleFile('a.txt', ['1'.repeat(64)])], next: '2'.repeat(64) }));
    expect(doc).toEqual({
      v: 1,
      entries: [
        {
          name: 'a.txt',
          type: 'file',
          mode: 0o644,
          uid: 1000,
          gid: 1000,
          user: 'alice',
          group: 'staff',
          mtime: '1700000000123456789',
          ctime: '1700000001000000000',
          inode: '123456',
          device: '2049',
          links: 1,
          size: 4096,
          content: ['1'.repeat(64)],
        },
      ],
      next: '2'.repeat(64),
    });
    expect(Object.keys(doc.entries[0]!)).toEqual([
      'name',
      'type',
      'mode',
      'uid',
      'gid',
      'user',
      'group',
      'mtime',
      'ctime',
      'inode',
      'device',
      'links',
      'size',
      'content',
    ]);
  });

  it('round-trips every node type, non-UTF-8 names and targets exactly', () => {
    for (const raw of seedTrees().slice(0, 3)) expect(encodeTree(decodeTree(raw))).toEqual(raw);
    const tree = decodeTree(seedTrees()[0]!);
    const odd = tree.nodes.find((n) => n.name[1] === 0xff)!;
    expect(odd.name).toEqual(bytes(0x61, 0xff, 0xfe));
    expect(parse(seedTrees()[0]!).entries[0]).toMatchObject({
      nameRaw: Buffer.from([0x61, 0xff, 0xfe]).toString('base64'),
    });
    const link = tree.nodes.find((n) => n.type === 'symlink')!;
    expect(link.target).toEqual(bytes(0x2e, 0x2e, 0x2f, 0xc0));
    expect(parse(seedTrees()[0]!).entries.find((e) => e.type === 'symlink')).toMatchObject({ targetRaw: 'Li4vwA==' });
    expect(tree.nodes.find((n) => n.type === 'chardev')!.rdev).toBe(259n);
    expect(tree.nodes.find((n) => n.type === 'dir')!.subtree).toBe('4'.repeat(64));
    expect(tree.nodes.find((n) => n.contentLists)!.contentLists).toEqual(['3'.repeat(64)]);
    expect(tree.nodes.at(-1)!.mtimeNs).toBe(-5n);
  });

  it('stores ASCII names (every byte 1-127 but the slash) as text and reads back the same bytes', () => {
    const all = Array.from({ length: 127 }, (_, i) => i + 1).filter((b) => b !== 0x2f);
    const names = [bytes(...all), bytes(0x7f), bytes(0x01, 0x22, 0x5c), bytes(0x61)].sort(compareNames);
    const raw = encodeTree({ nodes: names.map((name) => ({ ...sampleFile('x'), name })) });
    const entries = parse(raw).entries;
    expect(entries.every((e) => typeof e.name === 'string' && e.nameRaw === undefined)).toBe(true);
    expect(entries.map((e) => Buffer.from(e.name as string, 'utf8'))).toEqual(names.map((n) => Buffer.from(n)));
    expect(decodeTree(raw).nodes.map((n) => n.name)).toEqual(names);
  });

  it('uses nameRaw for overlong or surrogate UTF-8 encodings, which do not round-trip as text', () => {
    for (const name of [bytes(0xc0, 0xaf), bytes(0xed, 0xa0, 0x80), bytes(0xef, 0xbb, 0xbf, 0x61)]) {
      const raw = encodeTree({ nodes: [{ ...sampleFile('x'), name }] });
      const entry = parse(raw).entries[0]!;
      // A leading BOM is valid UTF-8 but the decoder strips it by default: it must stay raw too.
      expect(entry.name === undefined || Buffer.from(entry.name as string).equals(name)).toBe(true);
      expect(decodeTree(raw).nodes[0]!.name).toEqual(name);
    }
  });

  it('orders entries by raw name bytes and refuses unsorted or duplicate names', () => {
    const names = [bytes(0x42), bytes(0x61), bytes(0x61, 0x00 + 0x20), bytes(0xc3, 0xa9), bytes(0xff)];
    expect([...names].sort(compareNames)).toEqual(names);
    const nodes = names.map((name) => ({ ...sampleFile('x'), name }));
    expect(decodeTree(encodeTree({ nodes })).nodes.map((n) => n.name)).toEqual(names);
    expectCode(() => decodeTree(encodeTree({ nodes: [nodes[1]!, nodes[0]!] })), 'CORRUPT_DATA');
    expectCode(() => decodeTree(encodeTree({ nodes: [nodes[1]!, nodes[1]!] })), 'CORRUPT_DATA');
  });

  it('refuses invalid names: empty, ".", "..", containing "/" or NUL (as text or raw)', () => {
    const entry = parse(encodeTree({ nodes: [sampleFile('ok')] })).entries[0]!;
    const { name: _drop, ...rest } = entry;
    for (const bad of ['', '.', '..', 'a/b', '/', 'a\u0000b']) {
      expectCode(() => decodeTree(json({ v: 1, entries: [{ ...rest, name: bad }] })), 'CORRUPT_DATA');
      const nameRaw = Buffer.from(bad).toString('base64');
      expectCode(() => decodeTree(json({ v: 1, entries: [{ ...rest, nameRaw }] })), 'CORRUPT_DATA');
    }
    expectCode(() => decodeTree(json({ v: 1, entries: [rest] })), 'CORRUPT_DATA');
  });

  it('refuses malformed documents and fields', () => {
    const entry = parse(encodeTree({ nodes: [sampleFile('ok')] })).entries[0]!;
    const bad = (e: Record<string, unknown>) => () => decodeTree(json({ v: 1, entries: [{ ...entry, ...e }] }));
    expectCode(() => decodeTree(new TextEncoder().encode('{"v":1,"entries":[')), 'CORRUPT_DATA');
    expectCode(() => decodeTree(bytes(0x7b, 0xff, 0x7d)), 'CORRUPT_DATA');
    expectCode(() => decodeTree(json({ v: 2, entries: [] })), 'UNSUPPORTED_VERSION');
    expectCode(() => decodeTree(json({ v: 0, entries: [] })), 'CORRUPT_DATA');
    expectCode(() => decodeTree(json({ v: 1 })), 'CORRUPT_DATA');
    expectCode(() => decodeTree(json([1])), 'CORRUPT_DATA');
    expectCode(() => decodeTree(json({ v: 1, entries: [], next: 'ABC' })), 'CORRUPT_DATA');
    expectCode(bad({ type: 'door' }), 'CORRUPT_DATA');
    expectCode(bad({ mode: 0o10000 }), 'CORRUPT_DATA');
    expectCode(bad({ uid: -1 }), 'CORRUPT_DATA');
    expectCode(bad({ gid: 2 ** 32 }), 'CORRUPT_DATA');
    expectCode(bad({ links: 1.5 }), 'CORRUPT_DATA');
    expectCode(bad({ mtime: 5 }), 'CORRUPT_DATA');
    expectCode(bad({ inode: '-1' }), 'CORRUPT_DATA');
    expectCode(bad({ size: -1 }), 'CORRUPT_DATA');
    expectCode(bad({ content: ['AB'.repeat(32)] }), 'CORRUPT_DATA');
    expectCode(bad({ content: undefined }), 'CORRUPT_DATA');
    expectCode(bad({ type: 'dir', subtree: 'x' }), 'CORRUPT_DATA');
    expectCode(bad({ type: 'symlink' }), 'CORRUPT_DATA');
    expectCode(bad({ type: 'blockdev' }), 'CORRUPT_DATA');
  });

  it('content lists: {"v":1,"content":[ids]}', () => {
    const ids = ['a'.repeat(64), 'b'.repeat(64)];
    expect(new TextDecoder().decode(encodeContentList(ids))).toBe(`{"v":1,"content":${JSON.stringify(ids)}}`);
    expect(decodeContentList(encodeContentList(ids))).toEqual(ids);
    expectCode(() => decodeContentList(json({ v: 1, content: ['xyz'] })), 'CORRUPT_DATA');
    expectCode(() => decodeContentList(json({ v: 1 })), 'CORRUPT_DATA');
  });

  it('a user and group that are not strings are ignored, not refused', () => {
    const entry = parse(encodeTree({ nodes: [sampleFile('ok')] })).entries[0]!;
    const node: TreeNode = decodeTree(json({ v: 1, entries: [{ ...entry, user: 5, group: null }] })).nodes[0]!;
    expect(node.user).toBeUndefined();
    expect(node.group).toBeUndefined();
  });
});
