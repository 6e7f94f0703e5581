/**
 * The Store interface: the only thing a repository needs from a medium. A store holds named,
 * immutable objects; adapters (disk, tape, S3) implement it and declare what their medium can do
 * in a capability manifest, and the shared conformance suite checks them against it.
 *
 * Contract every adapter keeps:
 * - an object is never visible under its final name half-written when `atomicPut` is declared;
 * - `put` to an existing name fails with ALREADY_EXISTS unless `overwrite` is requested and allowed;
 * - an operation the medium cannot do fails with NOT_SUPPORTED, never silently;
 * - failures are CairnErrors: NOT_FOUND, ALREADY_EXISTS, NOT_SUPPORTED, NO_SPACE,
 *   PERMISSION_DENIED, ABORTED, INVALID_ARGUMENT (bad name) or IO_ERROR.
 */
import { CairnError } from '../errors.js';
import { concatBytes } from '../format/bytes.js';

/** What a medium can do. Repository code and the conformance suite decide by these flags. */
export interface StoreCapabilities {
  /** `get` with `offset`/`length` reads only that range (reads still work without it, only slower). */
  readonly rangeReads: boolean;
  /** `delete` is allowed (false for WORM media and tape, where space is never reclaimed). */
  readonly deletes: boolean;
  /** `put` may replace an existing object when called with `overwrite: true`. */
  readonly overwrite: boolean;
  /** Sequential medium (tape): prefer few large writes, and reads sorted by position. */
  readonly sequential: boolean;
  /** `put` honours `retainUntil` (an object that cannot be deleted or replaced before that time). */
  readonly immutability: boolean;
  /** A `put` is all-or-nothing: readers never see a partial object under its name. */
  readonly atomicPut: boolean;
}

/** Options common to every store call. */
export interface StoreCallOptions {
  signal?: AbortSignal;
}

export interface PutOptions extends StoreCallOptions {
  /** Replace an existing object (only where `capabilities.overwrite`). */
  overwrite?: boolean;
  /** Ask the medium to keep the object immutable until this time (only where `capabilities.immutability`). */
  retainUntil?: Date;
  /** Total size in bytes when known in advance (lets adapters pick single or multipart uploads). */
  size?: number;
}

export interface GetOptions extends StoreCallOptions {
  /** First byte to read (default 0). */
  offset?: number;
  /** Bytes to read (default: to the end). A range past the end is clamped to the object's end. */
  length?: number;
  /**
   * A buffer to read into, from its start, when it has room for the bytes: the result is then a
   * view of it (callers recycle read buffers instead of leaving one per read to the garbage
   * collector). A hint: adapters may return a new buffer instead, and do when it is too small.
   */
  into?: Uint8Array;
}

/** What a store knows about one object. */
export interface ObjectInfo {
  name: string;
  size: number;
}

/** A medium holding named immutable objects. See the module comment for the contract. */
export interface Store {
  readonly capabilities: StoreCapabilities;
  /** Where the store is, for messages (a path or URL without credentials). */
  readonly location: string;
  /**
   * Writes an object from bytes or a stream of byte arrays. Once the returned promise settles, the
   * store holds no reference to the caller's buffers (callers reuse them: the backup's pack writer
   * recycles its blocks).
   */
  put(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void>;
  /** Reads an object, or a byte range of it. Throws NOT_FOUND if it does not exist. */
  get(name: string, options?: GetOptions): Promise<Uint8Array>;
  /** Size of an object. Throws NOT_FOUND if it does not exist. */
  stat(name: string, options?: StoreCallOptions): Promise<ObjectInfo>;
  /** Every object whose name starts with `prefix`, in no particular order, paginating internally. */
  list(prefix: string, options?: StoreCallOptions): AsyncIterable<ObjectInfo>;
  /** Deletes an object; deleting a missing object succeeds. NOT_SUPPORTED without `capabilities.deletes`. */
  delete(name: string, options?: StoreCallOptions): Promise<void>;
  /** Releases connections and handles. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: removes what writers killed mid-put left behind (e.g. temporary files) and is older
   * than `olderThanMs`; returns how many objects were removed. Media with atomic puts and nothing
   * to leave behind do not implement it. Maintenance calls it under the exclusive lock.
   */
  removeStaleTemporaryFiles?(olderThanMs?: number): Promise<number>;
}

const COMPONENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** Longest object name accepted (bytes). */
export const MAX_OBJECT_NAME_LENGTH = 512;

/**
 * Throws INVALID_ARGUMENT unless `name` is a valid object name: slash-separated components of
 * `[A-Za-z0-9._-]` that do not start with a dot (adapters use dot names for temporary files).
 */
export function assertObjectName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_OBJECT_NAME_LENGTH ||
    !name.split('/').every((c) => COMPONENT.test(c))
  ) {
    throw new CairnError('INVALID_ARGUMENT', `invalid object name ${JSON.stringify(name)}`);
  }
}

/** Throws INVALID_ARGUMENT unless `prefix` is empty or a valid name prefix (may end with '/'). */
export function assertObjectPrefix(prefix: string): void {
  if (prefix === '') return;
  assertObjectName(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/** Normalises a `get` range against an object size: [start, end). */
export function resolveRange(size: number, options?: GetOptions): [number, number] {
  const offset = options?.offset ?? 0;
  const length = options?.length;
  if (
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    (length !== undefined && (!Number.isSafeInteger(length) || length < 0))
  ) {
    throw new CairnError('INVALID_ARGUMENT', `invalid range offset=${offset} length=${length}`);
  }
  const start = Math.min(offset, size);
  const end = length === undefined ? size : Math.min(size, offset + length);
  return [start, end];
}

/** Collects bytes or an async iterable of bytes into one array, checking the signal between parts. */
export async function collectBytes(
  data: Uint8Array | AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const parts: Uint8Array[] = [];
  for await (const part of data) {
    if (signal?.aborted) throw new CairnError('ABORTED', 'operation was cancelled', { cause: signal.reason });
    parts.push(part);
  }
  return concatBytes(parts);
}
