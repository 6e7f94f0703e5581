/**
 * A small seeded mutation engine for the decoder fuzz tests: a deterministic PRNG, byte-level
 * mutations (bit flips, byte sets, truncation, extension, splicing, range deletion/duplication,
 * length-field tweaks with interesting values) and structural mutations of JSON documents.
 * Everything is a pure function of the seed, so a failing case is reproduced from (seed, case).
 */

/** A deterministic PRNG (mulberry32) with the helpers the mutators need. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n) (n >= 1). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** Mixes a run seed, a decoder name and a case number into one 32-bit case seed. */
export function caseSeed(seed: number, name: string, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const c of `${name}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** Values that break length and count fields: empty, one, sign bits, all ones. */
export const INTERESTING_U32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/** Options of {@link mutateBytes}. */
export interface ByteMutationOptions {
  /** Other inputs to splice from. */
  others?: readonly Uint8Array[];
  /** Byte offsets of length or count fields in `input`, hit by length tweaks half of the time. */
  fieldOffsets?: readonly number[];
  /** Tokens worth inserting (e.g. JSON punctuation and literals). */
  dictionary?: readonly Uint8Array[];
  /** Most mutations stacked on one input (default 4). */
  maxOps?: number;
  /** Longest output (default: input length + 4096). */
  maxLength?: number;
}

function insert(buf: Uint8Array, at: number, part: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length + part.length);
  out.set(buf.subarray(0, at), 0);
  out.set(part, at);
  out.set(buf.subarray(at), at + part.length);
  return out;
}

function writeLe(buf: Uint8Array, at: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = 0; i < width && at + i < buf.length; i++) {
    buf[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

type ByteOp = (buf: Uint8Array, r: Rng, o: ByteMutationOptions) => Uint8Array;

const BYTE_OPS: readonly [string, ByteOp][] = [
  [
    'bitflip',
    (b, r) => {
      if (b.length === 0) return b;
      const i = r.below(b.length);
      b[i]! ^= 1 << r.below(8);
      return b;
    },
  ],
  [
    'byteset',
    (b, r) => {
      if (b.length === 0) return b;
      b[r.below(b.length)] = r.chance(0.5) ? r.pick(INTERESTING_U8) : r.below(256);
      return b;
    },
  ],
  [
    'truncate',
    (b, r) => {
      // Mostly near the end (trailers), sometimes anywhere.
      const cut = r.chance(0.5) ? Math.max(0, b.length - 1 - r.below(64)) : r.below(b.length + 1);
      return b.slice(0, cut);
    },
  ],
  [
    'extend',
    (b, r) => {
      const extra = r.chance(0.5) ? r.bytes(1 + r.below(64)) : new Uint8Array(1 + r.below(64)).fill(r.below(256));
      return r.chance(0.7) ? insert(b, b.length, extra) : insert(b, 0, extra);
    },
  ],
  [
    'splice',
    (b, r, o) => {
      const from = o.others?.length ? r.pick(o.others) : b;
      if (from.length === 0) return b;
      const start = r.below(from.length);
      const part = from.slice(start, start + 1 + r.below(Math.min(256, from.length - start)));
      const at = r.below(b.length + 1);
      if (r.chance(0.5)) return insert(b, at, part);
      const out = b.slice();
      out.set(part.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    },
  ],
  [
    'delete',
    (b, r) => {
      if (b.length === 0) return b;
      const start = r.below(b.length);
      const end = Math.min(b.length, start + 1 + r.below(64));
      const out = new Uint8Array(b.length - (end - start));
      out.set(b.subarray(0, start), 0);
      out.set(b.subarray(end), start);
      return out;
    },
  ],
  [
    'duplicate',
    (b, r) => {
      if (b.length === 0) return b;
      const start = r.below(b.length);
      const part = b.slice(start, start + 1 + r.below(64));
      return insert(b, r.below(b.length + 1), part);
    },
  ],
  [
    'length',
    (b, r, o) => {
      if (b.length === 0) return b;
      const width = r.pick([1, 2, 4, 4, 8]);
      const at = o.fieldOffsets?.length && r.chance(0.5) ? r.pick(o.fieldOffsets) : r.below(b.length);
      const near = [b.length - 1, b.length, b.length + 1, r.below(b.length + 1)];
      writeLe(b, at, width, r.chance(0.7) ? r.pick(INTERESTING_U32) : r.pick(near));
      return b;
    },
  ],
  [
    'token',
    (b, r, o) => {
      if (!o.dictionary?.length) return b;
      const tok = r.pick(o.dictionary);
      const at = r.below(b.length + 1);
      if (r.chance(0.5)) return insert(b, at, tok);
      const out = b.slice();
      out.set(tok.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    },
  ],
];

/**
 * Applies 1..maxOps random mutations to a copy of `input`. Returns the mutated bytes and the names
 * of the mutations applied (for failure reports).
 */
export function mutateBytes(
  input: Uint8Array,
  r: Rng,
  options: ByteMutationOptions = {},
): { bytes: Uint8Array; ops: string[] } {
  let buf: Uint8Array = new Uint8Array(input); // a copy (Buffer#slice would share memory)
  const ops: string[] = [];
  const n = 1 + r.below(options.maxOps ?? 4);
  const maxLength = options.maxLength ?? input.length + 4096;
  for (let i = 0; i < n; i++) {
    const [name, op] = r.pick(BYTE_OPS);
    buf = op(buf, r, options);
    if (buf.length > maxLength) buf = buf.slice(0, maxLength);
    ops.push(name);
  }
  return { bytes: buf, ops };
}

/** JSON tokens worth inserting into JSON documents. */
export const JSON_TOKENS: readonly Uint8Array[] = [
  '"',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  'null',
  'true',
  '-1',
  '0',
  '1e309',
  '-0',
  '9007199254740993',
  '"\\ud800"',
  '"\\u0000"',
  '[[[[[[[[',
  '{"v":1}',
  '{"toString":0}',
  '"."',
  '".."',
  '"/"',
  '\u00ff',
  '\xc3\x28',
].map((s) => new Uint8Array(Buffer.from(s, 'latin1')));

/** Replacement values for structural JSON mutations. */
const JSON_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 32,
  2 ** 53,
  -(2 ** 63),
  1e308,
  '',
  'x',
  '.',
  '..',
  'a/b',
  '\u0000',
  '\ud800',
  '-1',
  '18446744073709551616',
  '99999999999999999999',
  'not base64!',
  '0'.repeat(64),
  'f'.repeat(64),
  'F'.repeat(64),
  '1970-01-01T00:00:00.000Z',
  [],
  {},
  [null],
  { v: 1 },
  ['0'.repeat(64)],
  // Objects that cannot be turned into a string: String(x) and `${x}` throw a TypeError.
  { toString: 0 },
  { toString: null, valueOf: null },
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every container path in `doc` (objects and arrays), root first. */
function containers(doc: Json, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (doc !== null && typeof doc === 'object') {
    out.push(path);
    const entries: [string | number, Json][] = Array.isArray(doc) ? doc.map((v, i) => [i, v]) : Object.entries(doc);
    for (const [k, v] of entries) containers(v, [...path, k], out);
  }
  return out;
}

function at(doc: Json, path: (string | number)[]): Json {
  let cur = doc;
  for (const k of path) cur = (cur as Record<string | number, Json>)[k]!;
  return cur;
}

/**
 * Applies 1..3 structural mutations to a deep copy of a JSON document: delete a key or element,
 * replace a value with an interesting one, duplicate or swap array elements, add an unknown key.
 */
export function mutateJson(doc: unknown, r: Rng): { value: unknown; ops: string[] } {
  const root = structuredClone(doc) as Json;
  const ops: string[] = [];
  const n = 1 + r.below(3);
  for (let i = 0; i < n; i++) {
    const paths = containers(root);
    if (paths.length === 0) break;
    const path = r.pick(paths);
    const node = at(root, path) as Json[] | Record<string, Json>;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, j) => j) : Object.keys(node);
    const value = structuredClone(r.pick(JSON_VALUES)) as Json;
    const kind = r.below(5);
    if (keys.length === 0 || kind === 0) {
      if (Array.isArray(node)) node.push(value);
      // defineProperty: a plain assignment to __proto__ would set the prototype, not a key.
      else
        Object.defineProperty(node, r.chance(0.5) ? 'unknownField' : '__proto__', {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      ops.push(`add@${path.join('.')}`);
    } else if (kind === 1) {
      const k = r.pick(keys);
      if (Array.isArray(node)) node.splice(k as number, 1);
      else delete node[k as string];
      ops.push(`delete@${[...path, k].join('.')}`);
    } else if (kind === 2 && Array.isArray(node)) {
      const a = r.below(node.length);
      const b = r.below(node.length);
      if (r.chance(0.5)) node.splice(b, 0, structuredClone(node[a]!));
      else [node[a], node[b]] = [node[b]!, node[a]!];
      ops.push(`dup-or-swap@${path.join('.')}`);
    } else {
      const k = r.pick(keys);
      (node as Record<string | number, Json>)[k] = value;
      ops.push(`set@${[...path, k].join('.')}`);
    }
  }
  return { value: root, ops };
}

const DEEP_MARK = '\u0000deep\u0000';

/**
 * Replaces one field (at the top level or one level down) with arrays nested 1 000 to 20 000 deep,
 * built as text: recursive code (String(), JSON.stringify, structuredClone) overflows the stack on
 * such values, which JSON.parse itself accepts.
 */
export function mutateDeep(doc: unknown, r: Rng): { bytes: Uint8Array; ops: string[] } | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const root = structuredClone(doc) as Record<string, unknown>;
  const keys = Object.keys(root);
  if (keys.length === 0) return undefined;
  let holder = root;
  let key = r.pick(keys);
  const inner = root[key];
  if (inner !== null && typeof inner === 'object' && !Array.isArray(inner) && r.chance(0.5)) {
    const innerKeys = Object.keys(inner);
    if (innerKeys.length > 0) {
      holder = inner as Record<string, unknown>;
      key = r.pick(innerKeys);
    }
  }
  holder[key] = DEEP_MARK;
  const depth = 1000 + r.below(19_000);
  const text = JSON.stringify(root).replace(JSON.stringify(DEEP_MARK), '['.repeat(depth) + ']'.repeat(depth));
  return { bytes: new Uint8Array(Buffer.from(text)), ops: [`deep${depth}@${key}`] };
}
