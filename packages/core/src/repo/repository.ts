/**
 * A repository: a set of immutable objects in a Store (docs/format.md §Layout), opened with a
 * password. This class owns the keys, config and index of one open repository and offers the
 * object-level operations the backup, restore and maintenance code build on.
 *
 * Guarantees: nothing is modified in place; `init` writes the config last, so a location is a
 * repository only once it is complete; every object read is authenticated (and, where named by
 * its hash, re-hashed) before use.
 */
import { randomBytes } from 'node:crypto';
import type { Compression } from '../compress/index.js';
import { generateMasterKeys, type MasterKeys } from '../crypto/index.js';
import { CairnError, throwIfAborted } from '../errors.js';
import { type BlobType, openBlob } from '../format/blob.js';
import { fromHex, toHex } from '../format/bytes.js';
import type { FinishedPack } from '../format/pack-writer.js';
import { openJson, sealJson } from '../format/sealed-object.js';
import { decodeContentList, decodeTree, type Tree } from '../format/tree.js';
import type { BlobLocation } from '../index/blob-location.js';
import type { Store } from '../store/store.js';
import { repositoryCacheDir, resolveCacheRoot } from './cache-dir.js';
import {
  type ChunkerConfig,
  checkConfigChoices,
  DEFAULT_CHUNKER,
  DEFAULT_PACK_SIZE,
  type RepoConfig,
  validateConfig,
} from './config.js';
import {
  addKey,
  changePassword,
  type KeySummary,
  listKeys,
  type NewKeyOptions,
  openWithPassword,
  removeKey,
} from './keys.js';
import { acquireLock, type RepositoryLock } from './lock.js';
import { CONFIG_NAME, KEYS_PREFIX, packName } from './names.js';
import { PackCache } from './pack-cache.js';
import { type IndexSyncProgress, RepoIndex, type RepositoryWarning } from './repo-index.js';

/** Options of {@link Repository.init}. */
export interface InitOptions extends NewKeyOptions {
  password: string | Uint8Array;
  chunker?: Partial<Pick<ChunkerConfig, 'min' | 'avg' | 'max' | 'normalization'>>;
  compression?: Compression;
  packSize?: number;
  cacheDir?: string;
  signal?: AbortSignal;
}

/** Options of {@link Repository.open}. */
export interface OpenOptions {
  password: string | Uint8Array;
  /** Cache root (default: CAIRN_CACHE_DIR or the XDG cache folder). */
  cacheDir?: string;
  signal?: AbortSignal;
  /** Called while the index cache catches up with the repository. */
  onIndexProgress?: (p: IndexSyncProgress) => void;
  /**
   * Told of damage an operation works around: a damaged index segment left out, a damaged or
   * unwritable local cache replaced (see {@link RepositoryWarning}).
   */
  onWarning?: (w: RepositoryWarning) => void;
  /**
   * Called as the password's key derivation starts (once per key file tried). With scrypt, the
   * default, the calling thread only waits until it ends (~0.2 s): work that needs no key can run
   * then, e.g. a backup's `BackupScan`.
   */
  onKeyDerivation?: () => void;
}

/** Tree blobs kept decoded in memory (trees are re-read often while walking snapshots). */
const TREE_CACHE_ENTRIES = 256;

export class Repository {
  private indexPromise: Promise<RepoIndex> | undefined;
  private readonly treeCache = new Map<string, Tree>();
  private readonly packCache: PackCache;

  private constructor(
    readonly store: Store,
    readonly config: RepoConfig,
    /** The master key set (secret: never log or persist it). */
    readonly keys: MasterKeys,
    /** Id of the key file this session opened. */
    readonly keyId: string,
    private readonly cacheRoot: string,
    private readonly onIndexProgress?: (p: IndexSyncProgress) => void,
    private readonly onWarning?: (w: RepositoryWarning) => void,
  ) {
    this.packCache = new PackCache(store);
  }

  /** The repository's id (hex). */
  get id(): string {
    return this.config.id;
  }

  /** This repository's local cache folder. */
  get cacheDir(): string {
    return repositoryCacheDir(this.cacheRoot, this.config.id);
  }

  /** True when `store` holds a repository (its config exists). */
  static async exists(store: Store, signal?: AbortSignal): Promise<boolean> {
    try {
      await store.stat(CONFIG_NAME, { signal });
      return true;
    } catch (err) {
      if ((err as CairnError).code === 'NOT_FOUND') return false;
      throw err;
    }
  }

  /** Creates a new repository. Throws REPO_EXISTS if the store already holds one (even a half-made one). */
  static async init(store: Store, options: InitOptions): Promise<Repository> {
    throwIfAborted(options.signal);
    if (await Repository.exists(store, options.signal)) {
      throw new CairnError('REPO_EXISTS', `a repository already exists at ${store.location}`);
    }
    for await (const _ of store.list(KEYS_PREFIX, { signal: options.signal })) {
      throw new CairnError(
        'REPO_EXISTS',
        `${store.location} already holds repository keys; refusing to initialise over them`,
      );
    }
    const config: RepoConfig = {
      v: 1,
      id: toHex(randomBytes(32)),
      created: new Date().toISOString(),
      chunker: { ...DEFAULT_CHUNKER, ...options.chunker, algorithm: 'fastcdc-2020' },
      compression: options.compression ?? 'lz4',
      packSize: options.packSize ?? DEFAULT_PACK_SIZE,
      hash: 'blake3-keyed',
      aead: 'xchacha20poly1305',
    };
    checkConfigChoices(config);
    const master = generateMasterKeys();
    const keyId = await addKey(store, master, options.password, options);
    // The config is the commit point of init: written last.
    await store.put(CONFIG_NAME, sealJson(master.dataKey, 'config', config), { signal: options.signal });
    return new Repository(store, config, master, keyId, resolveCacheRoot(options.cacheDir));
  }

  /**
   * Opens an existing repository. Throws REPO_NOT_FOUND, WRONG_PASSWORD, or CORRUPT_DATA /
   * AUTH_FAILED / UNSUPPORTED_VERSION when the config is damaged or too new.
   */
  static async open(store: Store, options: OpenOptions): Promise<Repository> {
    if (!(await Repository.exists(store, options.signal))) {
      throw new CairnError('REPO_NOT_FOUND', `no repository at ${store.location} (run "cairn init" to create one)`);
    }
    const { master, keyId } = await openWithPassword(store, options.password, options.signal, options.onKeyDerivation);
    const sealed = await store.get(CONFIG_NAME, { signal: options.signal });
    const config = validateConfig(openJson(master.dataKey, 'config', sealed, CONFIG_NAME));
    return new Repository(
      store,
      config,
      master,
      keyId,
      resolveCacheRoot(options.cacheDir),
      options.onIndexProgress,
      options.onWarning,
    );
  }

  /** The blob index, opened and synchronised on first use. */
  index(signal?: AbortSignal): Promise<RepoIndex> {
    this.indexPromise ??= RepoIndex.open(this.store, this.keys.dataKey, this.cacheDir, {
      ...(signal ? { signal } : {}),
      ...(this.onIndexProgress ? { onProgress: this.onIndexProgress } : {}),
      ...(this.onWarning ? { onWarning: this.onWarning } : {}),
    }).catch((err: unknown) => {
      this.indexPromise = undefined;
      throw err;
    });
    return this.indexPromise;
  }

  /** Stores a finished pack (before any index segment names it). */
  async savePack(pack: FinishedPack, signal?: AbortSignal): Promise<void> {
    const name = packName(pack.idHex);
    try {
      await this.store.put(name, asyncParts(pack.parts), { signal, size: pack.size });
    } catch (err) {
      // Same id = same bytes: a pack stored earlier (e.g. by an interrupted run) is as good.
      if ((err as CairnError).code !== 'ALREADY_EXISTS') throw err;
    }
  }

  /** Locates a blob; throws NOT_FOUND if no index segment lists it. */
  async locate(id: Uint8Array | string, signal?: AbortSignal): Promise<BlobLocation> {
    const bin = typeof id === 'string' ? fromHex(id, 'blob id') : id;
    const loc = await (await this.index(signal)).get(bin);
    if (!loc) {
      throw new CairnError('NOT_FOUND', `blob ${toHex(bin)} is not in the index`, { details: { blobId: toHex(bin) } });
    }
    return loc;
  }

  /** Reads, authenticates and verifies one blob. */
  async readBlob(id: Uint8Array | string, signal?: AbortSignal): Promise<Uint8Array> {
    const loc = await this.locate(id, signal);
    return this.readBlobAt(loc, signal);
  }

  /** Reads a blob at a known location (tree blobs through a cache of whole tree packs). */
  async readBlobAt(loc: BlobLocation, signal?: AbortSignal): Promise<Uint8Array> {
    const name = packName(loc.packId);
    const sealed =
      (loc.type === 'tree' ? await this.packCache.read(loc.packId, loc.offset, loc.length, signal) : undefined) ??
      (await this.store.get(name, { offset: loc.offset, length: loc.length, signal }));
    if (sealed.length !== loc.length) {
      throw new CairnError('CORRUPT_DATA', `${name} is shorter than the index says (blob ${toHex(loc.id)})`, {
        details: { packId: loc.packId, blobId: toHex(loc.id) },
      });
    }
    return openBlob(this.keys, loc, sealed);
  }

  /** Reads a tree blob, checking it is one (`loc`: its location when the caller looked it up). */
  async loadTree(idHex: string, signal?: AbortSignal, loc?: BlobLocation): Promise<Tree> {
    const cached = this.treeCache.get(idHex);
    if (cached) return cached;
    loc ??= await this.locate(idHex, signal);
    expectType(loc, 'tree');
    const tree = decodeTree(await this.readBlobAt(loc, signal));
    if (this.treeCache.size >= TREE_CACHE_ENTRIES) this.treeCache.delete(this.treeCache.keys().next().value!);
    this.treeCache.set(idHex, tree);
    return tree;
  }

  /**
   * Every entry of a directory, following continuation blobs of very large directories (`loc`: the
   * first blob's location when the caller looked it up).
   */
  async *treeEntries(idHex: string, signal?: AbortSignal, loc?: BlobLocation): AsyncIterable<Tree['nodes'][number]> {
    let next: string | undefined = idHex;
    while (next) {
      const tree = await this.loadTree(next, signal, next === idHex ? loc : undefined);
      yield* tree.nodes;
      next = tree.next;
    }
  }

  /** A file's content ids, reading content-list blobs for very large files. */
  async fileContent(node: { content?: string[]; contentLists?: string[] }, signal?: AbortSignal): Promise<string[]> {
    if (node.content) return node.content;
    const out: string[] = [];
    for (const listId of node.contentLists ?? []) {
      const loc = await this.locate(listId, signal);
      expectType(loc, 'tree');
      out.push(...decodeContentList(await this.readBlobAt(loc, signal)));
    }
    return out;
  }

  /** Takes a repository lock (shared for backups, exclusive for maintenance). */
  lock(options: { exclusive: boolean; operation: string; signal?: AbortSignal }): Promise<RepositoryLock> {
    return acquireLock(this.store, this.keys.dataKey, options);
  }

  /** Lists the repository's keys. */
  listKeys(signal?: AbortSignal): Promise<KeySummary[]> {
    return listKeys(this.store, this.keyId, signal);
  }

  /** Adds a key for another password; returns its id. */
  addKey(password: string | Uint8Array, options?: NewKeyOptions & { signal?: AbortSignal }): Promise<string> {
    return addKey(this.store, this.keys, password, options);
  }

  /**
   * Removes a key by id or unique id prefix (never the current or last key). Takes the exclusive
   * lock: two removals at once, each from a session of the other's key, could otherwise remove both.
   */
  async removeKey(keyId: string, signal?: AbortSignal): Promise<void> {
    const lock = await this.lock({ exclusive: true, operation: 'key remove', ...(signal ? { signal } : {}) });
    try {
      await removeKey(this.store, keyId, this.keyId, signal);
    } finally {
      await lock.release();
    }
  }

  /**
   * Changes this session's password (adds the new key, then removes the old), under the exclusive
   * lock as {@link removeKey}. Returns the new key id.
   */
  async changePassword(
    newPassword: string | Uint8Array,
    options?: NewKeyOptions & { signal?: AbortSignal },
  ): Promise<string> {
    const signal = options?.signal;
    const lock = await this.lock({ exclusive: true, operation: 'key passwd', ...(signal ? { signal } : {}) });
    try {
      const id = await changePassword(this.store, this.keys, this.keyId, newPassword, options);
      (this as { keyId: string }).keyId = id;
      return id;
    } finally {
      await lock.release();
    }
  }

  /** Closes the index cache. The store stays open (the caller owns it). */
  async close(): Promise<void> {
    this.packCache.clear();
    const index = this.indexPromise;
    this.indexPromise = undefined;
    if (index) await (await index.catch(() => undefined))?.close();
  }
}

function expectType(loc: BlobLocation, type: BlobType): void {
  if (loc.type !== type) {
    throw new CairnError('CORRUPT_DATA', `blob ${toHex(loc.id)} is a ${loc.type} blob, expected ${type}`, {
      details: { blobId: toHex(loc.id) },
    });
  }
}

async function* asyncParts(parts: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* parts;
}
