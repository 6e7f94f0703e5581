/**
 * An independent reader of Cairn repositories, written from docs/format.md alone: it imports
 * nothing from Cairn's source, only node:crypto (scrypt, ChaCha20-Poly1305), hash-wasm (BLAKE3,
 * Argon2id) and, for zstd, zstd-napi. HChaCha20, the LZ4 block decoder and FastCDC are written out
 * here from the page. Section numbers (§n) refer to docs/format.md.
 *
 * It reads a repository laid out on disk (object `a/b` = file `<root>/a/b`), checks every id it
 * can, and throws a plain `FormatError` on anything the page says a reader must refuse.
 */
import { createDecipheriv, scrypt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { argon2id, blake3 } from 'hash-wasm';

/** A rule of docs/format.md was broken. */
export class FormatError extends Error {}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new FormatError(what);
}

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (b: Uint8Array, at: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(at);
const u64 = (b: Uint8Array, at: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(at);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const HEX_ID = /^[0-9a-f]{64}$/;

// §2 Primitives ---------------------------------------------------------------------------------

/** BLAKE3 (or keyed BLAKE3 with a 32-byte key) as lower-case hex. */
export function blake3Hex(data: Uint8Array, key?: Uint8Array): Promise<string> {
  return key ? blake3(data, 256, key) : blake3(data);
}

function rotl(v: number, n: number): number {
  return ((v << n) | (v >>> (32 - n))) >>> 0;
}

/** HChaCha20 (§2 step 1): 20 rounds, output words 0-3 and 12-15, no final addition. */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const s = new Uint32Array(16);
  const c = ascii('expand 32-byte k');
  for (let i = 0; i < 4; i++) s[i] = u32(c, i * 4);
  for (let i = 0; i < 8; i++) s[4 + i] = u32(key, i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = u32(nonce16, i * 4);
  const qr = (a: number, b: number, cc: number, d: number) => {
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 16);
    s[cc] = (s[cc]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[cc]!, 12);
    s[a] = (s[a]! + s[b]!) >>> 0;
    s[d] = rotl(s[d]! ^ s[a]!, 8);
    s[cc] = (s[cc]! + s[d]!) >>> 0;
    s[b] = rotl(s[b]! ^ s[cc]!, 7);
  };
  for (let round = 0; round < 10; round++) {
    qr(0, 4, 8, 12);
    qr(1, 5, 9, 13);
    qr(2, 6, 10, 14);
    qr(3, 7, 11, 15);
    qr(0, 5, 10, 15);
    qr(1, 6, 11, 12);
    qr(2, 7, 8, 13);
    qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  for (const [i, w] of [0, 1, 2, 3, 12, 13, 14, 15].entries()) out.writeUInt32LE(s[w]!, i * 4);
  return new Uint8Array(out);
}

/** XChaCha20-Poly1305 open (§2); throws FormatError when the tag does not verify. */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  check(nonce.length === 24 && sealed.length >= 16, 'sealed data too short');
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16, 24), 4);
  const d = createDecipheriv('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16)), iv, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: sealed.length - 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const body = d.update(sealed.subarray(0, sealed.length - 16));
  try {
    d.final();
  } catch {
    throw new FormatError('authentication failed');
  }
  return new Uint8Array(body);
}

// §7 Compression ------------------------------------------------------------------------------

/** Decodes one LZ4 block (the block format, not the frame format) of exactly `size` bytes. */
export function lz4Block(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let ip = 0;
  let op = 0;
  const length = (n: number) => {
    if (n !== 15) return n;
    for (;;) {
      check(ip < src.length, 'lz4: truncated length');
      const b = src[ip++]!;
      n += b;
      if (b !== 255) return n;
    }
  };
  while (ip < src.length) {
    const token = src[ip++]!;
    const lit = length(token >> 4);
    check(ip + lit <= src.length && op + lit <= size, 'lz4: literals overflow');
    out.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip === src.length) break; // the last sequence has literals only
    check(ip + 2 <= src.length, 'lz4: truncated offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    const match = length(token & 15) + 4;
    check(offset > 0 && offset <= op && op + match <= size, 'lz4: bad match');
    for (let i = 0; i < match; i++, op++) out[op] = out[op - offset]!;
  }
  check(op === size, 'lz4: block does not decode to the declared size');
  return out;
}

let zstd: ((data: Uint8Array) => Uint8Array) | undefined;
function zstdDecompress(data: Uint8Array): Uint8Array {
  zstd ??= (createRequire(import.meta.url)('zstd-napi') as { decompress: (d: Uint8Array) => Uint8Array }).decompress;
  return zstd(data);
}

/** Stored bytes with compression `id` back to exactly `rawLength` raw bytes. */
export function decompress(id: number, stored: Uint8Array, rawLength: number): Uint8Array {
  let raw: Uint8Array;
  if (id === 0) raw = stored;
  else if (id === 1) {
    check(stored.length >= 4 && u32(stored, 0) === rawLength, 'lz4: size prefix differs from the declared length');
    raw = lz4Block(stored.subarray(4), rawLength);
  } else if (id === 2) {
    check(u32(stored, 0) === 0xfd2fb528, 'zstd: bad magic');
    raw = zstdDecompress(stored);
  } else throw new FormatError(`unknown compression ${id}`);
  check(raw.length === rawLength, 'decompressed length differs from the declared length');
  return raw;
}

// §4 Key files --------------------------------------------------------------------------------

/** The master key set (§4.1). */
export interface MasterKeys {
  dataKey: Uint8Array;
  idKey: Uint8Array;
  macKey: Uint8Array;
  chunkerSeed: bigint;
}

function base64(value: unknown, bytes?: number): Uint8Array {
  check(typeof value === 'string', 'base64 field is not a string');
  const out = new Uint8Array(Buffer.from(value, 'base64'));
  check(Buffer.from(out).toString('base64') === value, 'base64 is not canonical');
  check(bytes === undefined || out.length === bytes, 'base64 field has the wrong length');
  return out;
}

function derive(password: Uint8Array, kdf: Record<string, unknown>, salt: Uint8Array): Promise<Uint8Array> {
  if (kdf.algorithm === 'scrypt') {
    const { N, r, p } = kdf as { N: number; r: number; p: number };
    return new Promise((resolve, reject) =>
      scrypt(password, salt, 32, { N, r, p, maxmem: 128 * r * (N + p + 2) + 2 ** 20 }, (err, key) =>
        err ? reject(err) : resolve(new Uint8Array(key)),
      ),
    );
  }
  check(kdf.algorithm === 'argon2id', 'unknown KDF');
  const k = kdf as { memoryKiB: number; iterations: number; parallelism: number };
  return argon2id({
    password,
    salt,
    iterations: k.iterations,
    parallelism: k.parallelism,
    memorySize: k.memoryKiB,
    hashLength: 32,
    outputType: 'binary',
  });
}

/** Opens a key file (§4.2-4.5) with a text password; returns the master keys. */
export async function openKeyFile(bytes: Uint8Array, password: string): Promise<MasterKeys> {
  const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  check(doc.format === 'cairn-key' && doc.version === 1, 'not a version 1 key file');
  check(doc.cipher === 'xchacha20-poly1305', 'unknown cipher');
  const kdf = doc.kdf as Record<string, unknown>;
  const names = kdf.algorithm === 'scrypt' ? ['N', 'r', 'p'] : ['memoryKiB', 'iterations', 'parallelism'];
  const aad = JSON.stringify([
    doc.format,
    doc.version,
    doc.created,
    doc.host,
    doc.username,
    kdf.algorithm,
    ...names.map((n) => kdf[n]),
    kdf.salt,
    doc.cipher,
  ]);
  const key = await derive(new Uint8Array(Buffer.from(password.normalize('NFC'), 'utf8')), kdf, base64(kdf.salt));
  const plain = open(key, base64(doc.nonce, 24), base64(doc.sealedKeys), new Uint8Array(Buffer.from(aad, 'utf8')));
  check(plain.length === 105 && plain[0] === 1, 'master keys are not version 1 (105 bytes)');
  return {
    dataKey: plain.slice(1, 33),
    idKey: plain.slice(33, 65),
    macKey: plain.slice(65, 97),
    chunkerSeed: u64(plain, 97),
  };
}

// §5 Sealed objects ---------------------------------------------------------------------------

const KINDS = { config: 1, index: 2, snapshot: 3, lock: 4 } as const;

/** Opens a sealed object of `kind` and returns its payload. */
export function openObject(dataKey: Uint8Array, kind: keyof typeof KINDS, bytes: Uint8Array): Uint8Array {
  check(bytes.length >= 12 + 24 + 16, 'sealed object too short');
  check(same(bytes.subarray(0, 4), ascii('CRNO')) && bytes[4] === 1, 'not a version 1 sealed object');
  check(bytes[5] === KINDS[kind], `not a ${kind} object`);
  const rawLength = u32(bytes, 8);
  check(rawLength <= 256 * 1024 * 1024, 'raw length above the limit');
  const stored = open(dataKey, bytes.subarray(12, 36), bytes.subarray(36), bytes.subarray(0, 12));
  return decompress(bytes[6]!, stored, rawLength);
}

const json = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));

// §9, §10 Packs and index segments ------------------------------------------------------------

/** A blob's location: index segment or pack header entry plus the pack id. */
export interface Location {
  pack: string;
  type: number;
  compression: number;
  offset: number;
  length: number;
  rawLength: number;
  id: string;
}

function entries(bytes: Uint8Array, at: number, count: number, pack: string): Location[] {
  const out: Location[] = [];
  for (let i = 0; i < count; i++, at += 50) {
    const offset = u64(bytes, at + 2);
    check(offset <= BigInt(Number.MAX_SAFE_INTEGER), 'offset too large');
    out.push({
      pack,
      type: bytes[at]!,
      compression: bytes[at + 1]!,
      offset: Number(offset),
      length: u32(bytes, at + 10),
      rawLength: u32(bytes, at + 14),
      id: hex(bytes.subarray(at + 18, at + 50)),
    });
  }
  return out;
}

/** Decodes an index segment payload (§10). */
export function decodeSegment(p: Uint8Array): { supersedes: string[]; entries: Location[] } {
  check(p.length >= 16 && same(p.subarray(0, 4), ascii('CRNI')) && p[4] === 1, 'not a version 1 segment');
  const nSup = u32(p, 8);
  let at = 12;
  const supersedes: string[] = [];
  for (let i = 0; i < nSup; i++, at += 32) supersedes.push(hex(p.subarray(at, at + 32)));
  const packs = u32(p, at);
  at += 4;
  const all: Location[] = [];
  for (let i = 0; i < packs; i++) {
    const pack = hex(p.subarray(at, at + 32));
    const n = u32(p, at + 32);
    at += 36;
    check(at + n * 50 <= p.length, 'entry count beyond the segment');
    all.push(...entries(p, at, n, pack));
    at += n * 50;
  }
  check(at === p.length, 'trailing bytes in segment');
  return { supersedes, entries: all };
}

/** Decodes and validates a whole pack's header (§9). */
export function readPackHeader(dataKey: Uint8Array, pack: Uint8Array, packIdHex: string): Location[] {
  check(pack.length >= 12 && same(pack.subarray(pack.length - 8), ascii('CAIRNPK1')), 'bad trailer');
  const len = u32(pack, pack.length - 12);
  check(len >= 52 && len <= 64 * 1024 * 1024 && len + 12 <= pack.length, 'bad header length');
  const start = pack.length - 12 - len;
  const sealed = pack.subarray(start, pack.length - 12);
  const h = open(dataKey, sealed.subarray(0, 24), sealed.subarray(24), ascii('cairn.pack-header.v1'));
  check(same(h.subarray(0, 4), ascii('CRNH')) && h[4] === 1, 'not a version 1 pack header');
  const count = u32(h, 8);
  check(12 + count * 50 === h.length, 'count does not match the header size');
  const list = entries(h, 12, count, packIdHex);
  let next = 0;
  for (const e of list) {
    check(e.type <= 1 && e.compression <= 2, 'unknown type or compression');
    check(e.offset === next && e.length >= 40 && e.rawLength <= 64 * 1024 * 1024, 'entries do not tile');
    next = e.offset + e.length;
  }
  check(next === start, 'blobs do not end where the header starts');
  return list;
}

// §11 Trees -----------------------------------------------------------------------------------

/** A tree entry with its name and target as bytes (§11). */
export interface Entry {
  name: Buffer;
  type: string;
  mode: number;
  mtime: bigint;
  links: number;
  inode: bigint;
  device: bigint;
  size?: number;
  content?: string[];
  contentLists?: string[];
  subtree?: string;
  target?: Buffer;
  /** The entry as stored. */
  raw: Record<string, unknown>;
}

function decodeEntry(e: Record<string, unknown>): Entry {
  const name =
    typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : Buffer.from(String(e.nameRaw ?? ''), 'base64');
  check(name.length > 0 && !name.includes(0x2f) && !name.includes(0), 'invalid name');
  check(!name.equals(Buffer.from('.')) && !name.equals(Buffer.from('..')), 'name is . or ..');
  const out: Entry = {
    name,
    type: e.type as string,
    mode: e.mode as number,
    mtime: BigInt(e.mtime as string),
    links: e.links as number,
    inode: BigInt(e.inode as string),
    device: BigInt(e.device as string),
    raw: e,
  };
  if (out.type === 'file') {
    out.size = e.size as number;
    if (e.contentLists !== undefined) out.contentLists = e.contentLists as string[];
    else out.content = e.content as string[];
    for (const id of out.contentLists ?? out.content ?? []) check(HEX_ID.test(id), 'content id is not a hex id');
  }
  if (out.type === 'dir') out.subtree = e.subtree as string;
  if (out.type === 'symlink') {
    out.target =
      typeof e.target === 'string' ? Buffer.from(e.target, 'utf8') : Buffer.from(e.targetRaw as string, 'base64');
  }
  return out;
}

// §14 Chunking --------------------------------------------------------------------------------

/** GEAR and MASKS from the fenced blocks of docs/format.md's Appendix A. */
export function tablesFromSpec(markdown: string): { gear: bigint[]; masks: bigint[] } {
  const appendix = markdown.slice(markdown.indexOf('## Appendix A'));
  const blocks = [...appendix.matchAll(/```text\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => BigInt(`0x${w}`)),
  );
  check(blocks[0]?.length === 256 && blocks[1]?.length === 26, 'appendix tables not found');
  return { gear: blocks[0]!, masks: blocks[1]! };
}

/** FastCDC 2020 with a seeded gear table, step by step as §14 states it; returns chunk lengths. */
export function fastcdc(
  data: Uint8Array,
  p: { min: number; avg: number; max: number; normalization: number; seed: bigint },
  tables: { gear: bigint[]; masks: bigint[] },
): number[] {
  const M = (1n << 64n) - 1n;
  const g = tables.gear.map((x) => x ^ p.seed);
  const gls = g.map((x) => (x << 1n) & M);
  const bits = Math.round(Math.log2(p.avg));
  const maskS = tables.masks[bits + p.normalization]!;
  const maskL = tables.masks[bits - p.normalization]!;
  const lengths: number[] = [];
  for (let start = 0; start < data.length; ) {
    const n = data.length - start;
    let length = n;
    if (n > p.min) {
      const end = Math.min(n, p.max);
      const center = Math.min(n, p.avg);
      length = end;
      let h = 0n;
      for (let a = p.min - (p.min % 2); Math.floor(a / 2) < Math.floor(end / 2); a += 2) {
        const m = Math.floor(a / 2) < Math.floor(center / 2) ? maskS : maskL;
        h = ((h << 2n) + gls[data[start + a]!]!) & M;
        if ((h & ((m << 1n) & M)) === 0n) {
          length = a;
          break;
        }
        h = (h + g[data[start + a + 1]!]!) & M;
        if ((h & m) === 0n) {
          length = a + 1;
          break;
        }
      }
    }
    lengths.push(length);
    start += length;
  }
  return lengths;
}

// §15 The repository --------------------------------------------------------------------------

async function listFiles(root: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let items: import('node:fs').Dirent[];
    try {
      items = await readdir(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of items) {
      const name = `${rel}/${d.name}`;
      if (d.isDirectory()) await walk(name);
      else out.push(name);
    }
  };
  await walk(prefix.replace(/\/$/, ''));
  return out.sort();
}

/** A repository on disk opened by this reader. */
export class IndependentRepository {
  /** Blob id (hex) → location, from the index segments. */
  readonly index = new Map<string, Location>();
  /** What the reader saw, for tests that want to know a feature was exercised. */
  readonly seen = { nextLinks: 0, contentLists: 0, rawNames: 0, compressions: new Set<number>() };
  /** Whole packs read so far (test repositories are a few MiB). */
  private readonly packCache = new Map<string, Promise<Uint8Array>>();

  private constructor(
    readonly root: string,
    readonly keyId: string,
    readonly keys: MasterKeys,
    readonly config: Record<string, unknown>,
  ) {}

  private read(name: string): Promise<Uint8Array> {
    return readFile(join(this.root, ...name.split('/'))).then((b) => new Uint8Array(b));
  }

  /** §15 steps 1-3: key files, config, index segments. */
  static async open(root: string, password: string): Promise<IndependentRepository> {
    const keyNames = (await listFiles(root, 'keys/')).filter((n) => /^keys\/[0-9a-f]{64}$/.test(n));
    let opened: { id: string; keys: MasterKeys } | undefined;
    for (const name of keyNames) {
      const bytes = new Uint8Array(await readFile(join(root, name)));
      const id = name.slice(5);
      check((await blake3Hex(bytes)) === id, `${name}: id is not the BLAKE3 of its bytes`);
      try {
        opened = { id, keys: await openKeyFile(bytes, password) };
        break;
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
      }
    }
    check(opened !== undefined, 'no key file opens with this password');
    const config = json(
      openObject(opened.keys.dataKey, 'config', new Uint8Array(await readFile(join(root, 'config')))),
    ) as Record<string, unknown>;
    check(config.v === 1 && config.hash === 'blake3-keyed' && config.aead === 'xchacha20poly1305', 'unknown config');
    const repo = new IndependentRepository(root, opened.id, opened.keys, config);
    for (const name of await listFiles(root, 'index/')) {
      const bytes = await repo.read(name);
      check((await blake3Hex(bytes)) === name.slice(6), `${name}: id mismatch`);
      for (const e of decodeSegment(openObject(opened.keys.dataKey, 'index', bytes)).entries) repo.index.set(e.id, e);
    }
    return repo;
  }

  /** §15 step 4: every snapshot, oldest first. */
  async snapshots(): Promise<{ id: string; doc: Record<string, unknown> }[]> {
    const out: { id: string; doc: Record<string, unknown> }[] = [];
    for (const name of await listFiles(this.root, 'snapshots/')) {
      const bytes = await this.read(name);
      const id = name.slice('snapshots/'.length);
      check((await blake3Hex(bytes)) === id, `${name}: id mismatch`);
      const doc = json(openObject(this.keys.dataKey, 'snapshot', bytes)) as Record<string, unknown>;
      check(doc.v === 1 && HEX_ID.test(doc.tree as string), 'invalid snapshot');
      out.push({ id, doc });
    }
    return out.sort(
      (a, b) => Date.parse(a.doc.time as string) - Date.parse(b.doc.time as string) || (a.id < b.id ? -1 : 1),
    );
  }

  /** Every pack: id checked, header decoded (§9). */
  async packs(): Promise<Map<string, Location[]>> {
    const out = new Map<string, Location[]>();
    for (const name of await listFiles(this.root, 'data/')) {
      const id = name.split('/')[2]!;
      check(name === `data/${id.slice(0, 2)}/${id}`, `${name}: not a pack name`);
      const bytes = await this.read(name);
      check((await blake3Hex(bytes)) === id, `${name}: id mismatch`);
      out.set(id, readPackHeader(this.keys.dataKey, bytes, id));
    }
    return out;
  }

  /** Reads, opens and verifies one blob (§8). */
  async blob(idHex: string, type: number): Promise<Uint8Array> {
    const loc = this.index.get(idHex);
    check(loc !== undefined, `blob ${idHex} is not indexed`);
    check(loc.type === type, `blob ${idHex} has type ${loc.type}, expected ${type}`);
    let pack = this.packCache.get(loc.pack);
    if (!pack) {
      pack = this.read(`data/${loc.pack.slice(0, 2)}/${loc.pack}`);
      this.packCache.set(loc.pack, pack);
    }
    const all = await pack;
    const sealed = all.subarray(loc.offset, loc.offset + loc.length);
    const aad = new Uint8Array(51);
    aad.set(ascii('cairn.blob.v1'), 0);
    aad[13] = loc.type;
    aad[14] = loc.compression;
    Buffer.from(aad.buffer).writeUInt32LE(loc.rawLength, 15);
    aad.set(Buffer.from(loc.id, 'hex'), 19);
    const raw = decompress(
      loc.compression,
      open(this.keys.dataKey, sealed.subarray(0, 24), sealed.subarray(24), aad),
      loc.rawLength,
    );
    check((await blake3Hex(raw, this.keys.idKey)) === idHex, `blob ${idHex}: content does not match its id`);
    this.seen.compressions.add(loc.compression);
    return raw;
  }

  /** A directory's entries, following `next` (§11), checking order across the whole chain. */
  async entries(treeId: string): Promise<Entry[]> {
    const out: Entry[] = [];
    for (let id: string | undefined = treeId; id !== undefined; ) {
      const doc = json(await this.blob(id, 1)) as { v: unknown; entries: Record<string, unknown>[]; next?: string };
      check(doc.v === 1 && Array.isArray(doc.entries), 'not a version 1 tree');
      for (const e of doc.entries) {
        const entry = decodeEntry(e);
        if (e.nameRaw !== undefined) this.seen.rawNames++;
        check(out.length === 0 || Buffer.compare(out[out.length - 1]!.name, entry.name) < 0, 'entries not sorted');
        out.push(entry);
      }
      if (doc.next !== undefined) this.seen.nextLinks++;
      id = doc.next;
    }
    return out;
  }

  /** A file's chunk ids, reading content lists when present (§11). */
  async chunkIds(entry: Entry): Promise<string[]> {
    if (!entry.contentLists) return entry.content ?? [];
    const ids: string[] = [];
    for (const list of entry.contentLists) {
      const doc = json(await this.blob(list, 1)) as { v: unknown; content: string[] };
      check(doc.v === 1 && Array.isArray(doc.content), 'not a content list');
      this.seen.contentLists++;
      ids.push(...doc.content);
    }
    return ids;
  }

  /** A file's bytes (§15 step 6). */
  async fileBytes(entry: Entry): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (const id of await this.chunkIds(entry)) parts.push(await this.blob(id, 0));
    const bytes = Buffer.concat(parts);
    check(bytes.length === entry.size, 'file content does not add up to its size');
    return bytes;
  }

  /** Finds the tree of an absolute path below a snapshot's root tree. */
  async treeAt(rootTree: string, path: string): Promise<string> {
    let tree = rootTree;
    for (const part of path.split('/').filter(Boolean)) {
      const e = (await this.entries(tree)).find((x) => x.name.equals(Buffer.from(part)));
      check(e?.type === 'dir' && typeof e.subtree === 'string', `${path}: no directory ${part}`);
      tree = e.subtree;
    }
    return tree;
  }
}
