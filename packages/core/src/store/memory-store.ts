/**
 * An in-memory Store for tests and embedding experiments. Its capabilities are configurable so a
 * test can model a medium without deletes or overwrites (tape, WORM) and check the engine's
 * behaviour there. Objects are copied on put and get, so callers can never alias stored bytes.
 */
import { CairnError, throwIfAborted } from '../errors.js';
import {
  assertObjectName,
  assertObjectPrefix,
  collectBytes,
  type GetOptions,
  type ObjectInfo,
  type PutOptions,
  resolveRange,
  type Store,
  type StoreCallOptions,
  type StoreCapabilities,
} from './store.js';

/** Default capabilities of a {@link MemoryStore}: everything a random-access medium allows. */
export const MEMORY_STORE_CAPABILITIES: StoreCapabilities = {
  rangeReads: true,
  deletes: true,
  overwrite: true,
  sequential: false,
  immutability: true,
  atomicPut: true,
};

/** A Store kept in a Map. */
export class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities;
  readonly location: string;
  private readonly objects = new Map<string, { bytes: Uint8Array; retainUntil?: number }>();

  constructor(options?: { capabilities?: Partial<StoreCapabilities>; location?: string }) {
    this.capabilities = { ...MEMORY_STORE_CAPABILITIES, ...options?.capabilities };
    this.location = options?.location ?? 'memory:';
  }

  async put(name: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    assertObjectName(name);
    throwIfAborted(options?.signal);
    if (options?.overwrite && !this.capabilities.overwrite) {
      throw new CairnError('NOT_SUPPORTED', `${this.location}: this medium does not allow overwriting objects`);
    }
    if (options?.retainUntil && !this.capabilities.immutability) {
      throw new CairnError('NOT_SUPPORTED', `${this.location}: this medium cannot keep objects immutable`);
    }
    this.assertReplaceable(name, options?.overwrite === true);
    // A copy the caller cannot reach (Buffer#slice would be a view of the caller's memory).
    const bytes = new Uint8Array(await collectBytes(data, options?.signal));
    throwIfAborted(options?.signal);
    // Checked again: another put may have completed while the stream was read.
    this.assertReplaceable(name, options?.overwrite === true);
    const entry: { bytes: Uint8Array; retainUntil?: number } = { bytes };
    if (options?.retainUntil) entry.retainUntil = options.retainUntil.getTime();
    this.objects.set(name, entry);
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    assertObjectName(name);
    throwIfAborted(options?.signal);
    const obj = this.objects.get(name);
    if (!obj) throw notFound(this.location, name);
    const [start, end] = resolveRange(obj.bytes.length, options);
    const into = options?.into;
    if (into && into.length >= end - start) {
      into.set(obj.bytes.subarray(start, end));
      return into.subarray(0, end - start);
    }
    return new Uint8Array(obj.bytes.subarray(start, end));
  }

  async stat(name: string, options?: StoreCallOptions): Promise<ObjectInfo> {
    assertObjectName(name);
    throwIfAborted(options?.signal);
    const obj = this.objects.get(name);
    if (!obj) throw notFound(this.location, name);
    return { name, size: obj.bytes.length };
  }

  async *list(prefix: string, options?: StoreCallOptions): AsyncIterable<ObjectInfo> {
    assertObjectPrefix(prefix);
    const names = [...this.objects.keys()].filter((n) => n.startsWith(prefix));
    for (const name of names) {
      throwIfAborted(options?.signal);
      const obj = this.objects.get(name);
      if (obj) yield { name, size: obj.bytes.length };
    }
  }

  async delete(name: string, options?: StoreCallOptions): Promise<void> {
    assertObjectName(name);
    throwIfAborted(options?.signal);
    if (!this.capabilities.deletes) {
      throw new CairnError('NOT_SUPPORTED', `${this.location}: this medium does not allow deleting objects`);
    }
    const obj = this.objects.get(name);
    if (obj?.retainUntil !== undefined && obj.retainUntil > Date.now()) {
      throw new CairnError('PERMISSION_DENIED', `${name} is retained until ${new Date(obj.retainUntil).toISOString()}`);
    }
    this.objects.delete(name);
  }

  async close(): Promise<void> {}

  private assertReplaceable(name: string, overwrite: boolean): void {
    const existing = this.objects.get(name);
    if (!existing) return;
    if (!overwrite) throw new CairnError('ALREADY_EXISTS', `${this.location}: ${name} already exists`);
    if (existing.retainUntil !== undefined && existing.retainUntil > Date.now()) {
      throw new CairnError(
        'PERMISSION_DENIED',
        `${name} is retained until ${new Date(existing.retainUntil).toISOString()}`,
      );
    }
  }
}

function notFound(location: string, name: string): CairnError {
  return new CairnError('NOT_FOUND', `${location}: ${name} does not exist`, { details: { name } });
}
