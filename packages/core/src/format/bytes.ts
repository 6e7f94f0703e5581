/**
 * Bounds-checked little-endian byte reading and writing for the on-disk formats. A reader never
 * trusts a length before checking it against what is left; every failure is a CORRUPT_DATA error
 * naming the structure and field that was wrong.
 */
import { CairnError } from '../errors.js';

/** Sequential reader over a byte array. `what` names the structure in error messages. */
export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new CairnError(
        'CORRUPT_DATA',
        `${this.what}: truncated at ${field} (byte ${this.pos}, need ${n}, have ${this.remaining})`,
        { details: { structure: this.what, field, offset: this.pos } },
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 that must fit in a JS safe integer (offsets and sizes). */
  u64(field: string): number {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(field, `value ${v} too large`);
    return Number(v);
  }

  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A copy of the next `n` bytes (never shares memory with the input, whatever its type). */
  copy(n: number, field: string): Uint8Array {
    return new Uint8Array(this.bytes(n, field));
  }

  /** Reads `n` reserved bytes, which must be zero (a non-zero value has a meaning this build lacks). */
  reserved(n: number, field = 'reserved'): void {
    const b = this.bytes(n, field);
    if (b.some((x) => x !== 0)) this.fail(field, 'reserved bytes are not zero (written by a newer Cairn?)');
  }

  /** Fails unless every byte was consumed (no trailing garbage). */
  end(): void {
    if (this.remaining !== 0) this.fail('end', `${this.remaining} unexpected trailing bytes`);
  }

  fail(field: string, problem: string): never {
    throw new CairnError('CORRUPT_DATA', `${this.what}: ${field}: ${problem} (byte ${this.pos})`, {
      details: { structure: this.what, field, offset: this.pos },
    });
  }
}

/** Fixed-size little-endian writer; the caller knows the exact size up front. */
export class ByteWriter {
  private pos = 0;
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): this {
    this.view.setUint8(this.pos++, v);
    return this;
  }

  u16(v: number): this {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }

  u64(v: number): this {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }

  raw(b: Uint8Array): this {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Returns the buffer, checking it was filled exactly. */
  finish(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error(`ByteWriter: wrote ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * The little-endian unsigned 32-bit word at `at` (no DataView per call: hot loops read millions,
 * from views at any alignment).
 */
export function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Exact bytes as a map or set key: one latin1 character per byte (cheaper than hex). */
export function bytesKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** The two lower-case hex digits of each byte value, as char codes: [2v] and [2v + 1]. */
const HEX_CODES = (() => {
  const t = new Uint8Array(512);
  for (let v = 0; v < 256; v++) {
    const s = v.toString(16).padStart(2, '0');
    t[2 * v] = s.charCodeAt(0);
    t[2 * v + 1] = s.charCodeAt(1);
  }
  return t;
})();
/** Ids and hashes are this long at most: longer inputs take Buffer's own hex encoder. */
const HEX_SCRATCH_BYTES = 64;
const hexScratch = Buffer.allocUnsafeSlow(2 * HEX_SCRATCH_BYTES);

/**
 * Lower-case hex of `b`. Ids are turned into hex by the hundred thousand in a backup (as map
 * keys): digits written into a scratch buffer and read as one flat string are ~2.5x faster than
 * concatenating 32 pairs, and leave no chain of partial strings for V8 to flatten and collect.
 */
export function toHex(b: Uint8Array): string {
  const n = b.length;
  if (n > HEX_SCRATCH_BYTES) return Buffer.from(b.buffer, b.byteOffset, n).toString('hex');
  for (let i = 0; i < n; i++) {
    const v = b[i]! << 1;
    hexScratch[2 * i] = HEX_CODES[v]!;
    hexScratch[2 * i + 1] = HEX_CODES[v + 1]!;
  }
  return hexScratch.toString('latin1', 0, 2 * n);
}

/** Parses lower- or upper-case hex; throws CORRUPT_DATA (naming `what`) on bad input. */
export function fromHex(hex: string, what = 'hex string'): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CairnError('CORRUPT_DATA', `${what}: not a hex string`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Value of each hex digit's char code (lower or upper case), -1 for anything else. */
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    t['0123456789abcdef'.charCodeAt(i)] = i;
    t['0123456789ABCDEF'.charCodeAt(i)] = i;
  }
  return t;
})();

/**
 * Decodes many hex strings of the same byte length into views of one buffer (ids held as hex in
 * trees, looked up by the thousand: one allocation instead of one per id). Throws CORRUPT_DATA
 * (naming `what`) on a string that is not `length` bytes of hex.
 */
export function fromHexMany(hexes: readonly string[], length: number, what = 'hex string'): Uint8Array[] {
  const buf = new Uint8Array(hexes.length * length);
  const out = new Array<Uint8Array>(hexes.length);
  for (let k = 0; k < hexes.length; k++) {
    const h = hexes[k]!;
    if (h.length !== length * 2) throw new CairnError('CORRUPT_DATA', `${what}: not ${length} bytes of hex`);
    const at = k * length;
    for (let i = 0; i < length; i++) {
      const hi = HEX_VALUE[h.charCodeAt(2 * i)] ?? -1;
      const lo = HEX_VALUE[h.charCodeAt(2 * i + 1)] ?? -1;
      if (hi < 0 || lo < 0) throw new CairnError('CORRUPT_DATA', `${what}: not a hex string`);
      buf[at + i] = (hi << 4) | lo;
    }
    out[k] = buf.subarray(at, at + length);
  }
  return out;
}

/** Constant-length byte equality (not constant-time; ids are not secrets). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
