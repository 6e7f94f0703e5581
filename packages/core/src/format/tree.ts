/**
 * Trees: one blob per directory listing its entries and their metadata (docs/format.md §Trees).
 * A tree blob's raw bytes are UTF-8 JSON: `{"v":1,"entries":[...],"next":"<tree id>"?}`. Entries are
 * sorted by the raw bytes of their names, so equal directories encode to equal bytes and dedup.
 * Very large directories continue in further tree blobs through `next`; very large files keep their
 * content ids in "content list" tree blobs (`{"v":1,"content":[...]}`) named by `contentLists`.
 *
 * Names and symlink targets that are not valid UTF-8 are kept exactly, base64-encoded in
 * `nameRaw` / `targetRaw`. 64-bit values (nanosecond times, inodes, devices) are decimal strings.
 */
import { CairnError } from '../errors.js';

/** Kinds of tree entries. */
export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

/** One entry of a directory, as stored. */
export interface TreeNode {
  /** The name's raw bytes (exact, may be any bytes but '/' and NUL). */
  name: Uint8Array;
  type: NodeType;
  /** Permission and special bits (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Owner and group names when known (restore maps them back when run as root). */
  user?: string;
  group?: string;
  /** Modification time, nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Status change time, nanoseconds (change detection only; cannot be restored). */
  ctimeNs: bigint;
  /** Inode and device numbers (change detection and hard links). */
  inode: bigint;
  device: bigint;
  /** Hard link count at backup time. */
  links: number;
  /** Files: size in bytes. */
  size?: number;
  /** Files: content blob ids in order (hex). Absent when `contentLists` is used. */
  content?: string[];
  /** Files with very many chunks: tree blobs holding the content ids (hex). */
  contentLists?: string[];
  /** Directories: id (hex) of the subtree. */
  subtree?: string;
  /** Symlinks: target bytes. */
  target?: Uint8Array;
  /** Character and block devices: device number. */
  rdev?: bigint;
}

/** A decoded tree blob. */
export interface Tree {
  nodes: TreeNode[];
  /** Continuation of this directory's entries (hex tree id), for very large directories. */
  next?: string;
}

/** Content ids per file entry beyond which they move to content-list blobs. */
export const MAX_INLINE_CONTENT = 4096;
/** Entries per tree blob beyond which a directory continues in a `next` blob. */
export const MAX_TREE_ENTRIES = 10_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NODE_TYPES: ReadonlySet<string> = new Set(['file', 'dir', 'symlink', 'fifo', 'socket', 'chardev', 'blockdev']);

/** Name bytes as text when they are valid UTF-8 that round-trips, else undefined. */
function asUtf8(bytes: Uint8Array): string | undefined {
  // Most names are ASCII: those are their own text, with no decoding and re-encoding to compare.
  let i = 0;
  while (i < bytes.length && bytes[i]! < 0x80) i++;
  if (i === bytes.length) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  try {
    const s = utf8.decode(bytes);
    return Buffer.from(s, 'utf8').equals(bytes) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Orders names by their raw bytes (the order entries are stored in). */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function encodeNode(n: TreeNode): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const name = asUtf8(n.name);
  if (name !== undefined) o.name = name;
  else o.nameRaw = Buffer.from(n.name).toString('base64');
  o.type = n.type;
  o.mode = n.mode;
  o.uid = n.uid;
  o.gid = n.gid;
  if (n.user !== undefined) o.user = n.user;
  if (n.group !== undefined) o.group = n.group;
  o.mtime = n.mtimeNs.toString();
  o.ctime = n.ctimeNs.toString();
  o.inode = n.inode.toString();
  o.device = n.device.toString();
  o.links = n.links;
  if (n.size !== undefined) o.size = n.size;
  if (n.content !== undefined) o.content = n.content;
  if (n.contentLists !== undefined) o.contentLists = n.contentLists;
  if (n.subtree !== undefined) o.subtree = n.subtree;
  if (n.target !== undefined) {
    const t = asUtf8(n.target);
    if (t !== undefined) o.target = t;
    else o.targetRaw = Buffer.from(n.target).toString('base64');
  }
  if (n.rdev !== undefined) o.rdev = n.rdev.toString();
  return o;
}

/** Encodes a tree blob's raw bytes. Nodes must already be sorted by {@link compareNames}. */
export function encodeTree(tree: Tree): Uint8Array {
  const doc: Record<string, unknown> = { v: 1, entries: tree.nodes.map(encodeNode) };
  if (tree.next !== undefined) doc.next = tree.next;
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** Encodes a content-list blob (content ids of one part of a large file). */
export function encodeContentList(ids: readonly string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, content: ids }));
}

function fail(what: string): never {
  throw new CairnError('CORRUPT_DATA', `tree: ${what}`);
}

function parseDoc(raw: Uint8Array): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(raw));
  } catch (err) {
    throw new CairnError('CORRUPT_DATA', 'tree: not valid UTF-8 JSON', { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('not an object');
  const v = (doc as { v?: unknown }).v;
  if (typeof v === 'number' && Number.isInteger(v) && v > 1 && v < 2 ** 31) {
    throw new CairnError('UNSUPPORTED_VERSION', `tree format ${v} needs a newer Cairn`);
  }
  if (v !== 1) fail('unknown version');
  return doc as Record<string, unknown>;
}

const HEX_ID = /^[0-9a-f]{64}$/;
const isInt = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;

function bigintField(o: Record<string, unknown>, key: string, signed = false): bigint {
  const v = o[key];
  if (typeof v !== 'string' || !(signed ? /^-?\d{1,20}$/ : /^\d{1,20}$/).test(v)) fail(`entry field ${key} is invalid`);
  return BigInt(v);
}

function idList(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && HEX_ID.test(x)))
    fail(`${key} is not a list of ids`);
  return v as string[];
}

function bytesField(o: Record<string, unknown>, text: string, raw: string): Uint8Array | undefined {
  if (typeof o[text] === 'string') return new Uint8Array(Buffer.from(o[text] as string, 'utf8'));
  if (typeof o[raw] === 'string') return new Uint8Array(Buffer.from(o[raw] as string, 'base64'));
  return undefined;
}

/**
 * True when `name` is one plain path component: not empty, not "." or "..", no "/" and no NUL.
 * Checked on every name decoded, and again by restore before it creates anything (a byte loop:
 * restores call it for every entry).
 */
export function isPlainName(name: Uint8Array): boolean {
  const n = name.length;
  if (n === 0 || (name[0] === 0x2e && (n === 1 || (n === 2 && name[1] === 0x2e)))) return false;
  for (let i = 0; i < n; i++) if (name[i] === 0x2f || name[i] === 0) return false;
  return true;
}

function decodeNode(o: unknown): TreeNode {
  if (typeof o !== 'object' || o === null) fail('entry is not an object');
  const e = o as Record<string, unknown>;
  const name = bytesField(e, 'name', 'nameRaw');
  if (!name || !isPlainName(name)) fail('entry has an invalid name (empty, ".", "..", or holding "/" or NUL)');
  // Only error messages need the name as text.
  const nameText = () => Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString();
  if (typeof e.type !== 'string' || !NODE_TYPES.has(e.type)) fail(`entry ${nameText()} has an unknown type`);
  if (!isInt(e.mode, 0o7777) || !isInt(e.uid, 0xffffffff) || !isInt(e.gid, 0xffffffff) || !isInt(e.links)) {
    fail(`entry ${nameText()} has invalid mode, owner or link count`);
  }
  const node: TreeNode = {
    name,
    type: e.type as NodeType,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtimeNs: bigintField(e, 'mtime', true),
    ctimeNs: bigintField(e, 'ctime', true),
    inode: bigintField(e, 'inode'),
    device: bigintField(e, 'device'),
    links: e.links,
  };
  if (typeof e.user === 'string') node.user = e.user;
  if (typeof e.group === 'string') node.group = e.group;
  if (node.type === 'file') {
    if (!isInt(e.size)) fail(`file ${nameText()} has no valid size`);
    node.size = e.size;
    if (e.contentLists !== undefined) node.contentLists = idList(e.contentLists, 'contentLists');
    else node.content = idList(e.content, 'content');
  } else if (node.type === 'dir') {
    if (typeof e.subtree !== 'string' || !HEX_ID.test(e.subtree)) fail(`directory ${nameText()} has no subtree id`);
    node.subtree = e.subtree;
  } else if (node.type === 'symlink') {
    const target = bytesField(e, 'target', 'targetRaw');
    if (!target) fail(`symlink ${nameText()} has no target`);
    node.target = target;
  } else if (node.type === 'chardev' || node.type === 'blockdev') {
    node.rdev = bigintField(e, 'rdev');
  }
  return node;
}

/** Decodes and validates a tree blob; throws CORRUPT_DATA on anything malformed. */
export function decodeTree(raw: Uint8Array): Tree {
  const doc = parseDoc(raw);
  if (!Array.isArray(doc.entries)) fail('entries missing');
  const nodes = doc.entries.map(decodeNode);
  for (let i = 1; i < nodes.length; i++) {
    if (compareNames(nodes[i - 1]!.name, nodes[i]!.name) >= 0) fail('entries are not sorted or not unique');
  }
  const tree: Tree = { nodes };
  if (doc.next !== undefined) {
    if (typeof doc.next !== 'string' || !HEX_ID.test(doc.next)) fail('next is not a tree id');
    tree.next = doc.next;
  }
  return tree;
}

/** Decodes a content-list blob. */
export function decodeContentList(raw: Uint8Array): string[] {
  const doc = parseDoc(raw);
  return idList(doc.content, 'content');
}

/**
 * A node's name as display text (invalid UTF-8 shown with replacement characters). Read in place:
 * walks call it for every entry.
 */
export function nodeName(node: TreeNode): string {
  const n = node.name;
  return Buffer.from(n.buffer, n.byteOffset, n.byteLength).toString('utf8');
}
