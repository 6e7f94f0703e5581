/**
 * Password keys of a repository (`keys/<id>`): each key file wraps the same master key set under a
 * different password. Adding a key writes a new file; changing a password adds the new key before
 * removing the old one, so at every instant the repository has a usable key; the last key can
 * never be removed.
 */
import { hostname, userInfo } from 'node:os';
import { createKeyFile, type KeyFileOptions, type MasterKeys, openKeyFile, readKeyFileInfo } from '../crypto/index.js';
import { CairnError, throwIfAborted } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { blake3 } from '../hashing/index.js';
import type { Store } from '../store/store.js';
import { idFromName, KEYS_PREFIX, keyName } from './names.js';

/** What `listKeys` shows about a key (readable without the password). */
export interface KeySummary {
  id: string;
  host?: string;
  username?: string;
  created?: string;
  kdf?: string;
  /** True for the key this session opened the repository with. */
  current: boolean;
  /** Set when the key file could not be parsed. */
  damaged?: string;
}

/** Options of a new key file. */
export type NewKeyOptions = Pick<KeyFileOptions, 'kdf' | 'scrypt'> & { host?: string; username?: string };

function who(): { host: string; username: string } {
  let username = 'unknown';
  try {
    username = userInfo().username;
  } catch {}
  return { host: hostname(), username };
}

/** Writes a new key file for `master` under `password`; returns its id. */
export async function addKey(
  store: Store,
  master: MasterKeys,
  password: string | Uint8Array,
  options: NewKeyOptions & { signal?: AbortSignal } = {},
): Promise<string> {
  const id0 = who();
  const bytes = await createKeyFile(master, password, {
    ...(options.kdf ? { kdf: options.kdf } : {}),
    ...(options.scrypt ? { scrypt: options.scrypt } : {}),
    host: options.host ?? id0.host,
    username: options.username ?? id0.username,
  });
  const id = toHex(blake3(bytes));
  await store.put(keyName(id), bytes, { signal: options.signal });
  return id;
}

/** Ids of every key file in the store. */
export async function listKeyIds(store: Store, signal?: AbortSignal): Promise<string[]> {
  const ids: string[] = [];
  for await (const obj of store.list(KEYS_PREFIX, { signal })) {
    const id = idFromName(obj.name, KEYS_PREFIX);
    if (id) ids.push(id);
  }
  return ids.sort();
}

/**
 * Finds the key `password` opens. Throws WRONG_PASSWORD if none does, or CORRUPT_DATA if no key
 * file could even be read.
 */
export async function openWithPassword(
  store: Store,
  password: string | Uint8Array,
  signal?: AbortSignal,
  onKeyDerivation?: () => void,
): Promise<{ master: MasterKeys; keyId: string }> {
  const ids = await listKeyIds(store, signal);
  if (ids.length === 0) throw new CairnError('CORRUPT_DATA', 'repository has no key files (keys/ is empty)');
  let damaged = 0;
  let unsupported = 0;
  let lastDamage: unknown;
  for (const id of ids) {
    throwIfAborted(signal);
    let bytes: Uint8Array;
    try {
      bytes = await store.get(keyName(id), { signal });
    } catch (err) {
      if ((err as CairnError).code === 'NOT_FOUND') continue; // removed meanwhile
      throw err;
    }
    try {
      const { master } = await openKeyFile(bytes, password, onKeyDerivation ? { onKeyDerivation } : {});
      return { master, keyId: id };
    } catch (err) {
      const code = (err as CairnError).code;
      if (code === 'WRONG_PASSWORD') continue;
      // A key written by a newer Cairn (unknown KDF or cipher): another key may still open.
      if (code === 'UNSUPPORTED_ALGORITHM') {
        unsupported++;
        lastDamage = err;
        continue;
      }
      if (code === 'CORRUPT_DATA' || code === 'UNSUPPORTED_VERSION' || code === 'AUTH_FAILED') {
        damaged++;
        lastDamage = err;
        continue;
      }
      throw err;
    }
  }
  if (unsupported === ids.length) {
    throw new CairnError('UNSUPPORTED_ALGORITHM', 'every key of this repository needs a newer version of Cairn', {
      cause: lastDamage,
    });
  }
  if (damaged + unsupported === ids.length && damaged > 0) {
    throw new CairnError('CORRUPT_DATA', `every key file is damaged (${damaged}); the repository cannot be opened`, {
      cause: lastDamage,
    });
  }
  throw new CairnError(
    'WRONG_PASSWORD',
    damaged + unsupported > 0
      ? `wrong password: no readable key matches it (${damaged} key file(s) damaged, ${unsupported} needing a newer Cairn)`
      : 'wrong password: no key of this repository matches it',
  );
}

/** Lists keys with the metadata their files carry in the clear. */
export async function listKeys(store: Store, currentKeyId: string, signal?: AbortSignal): Promise<KeySummary[]> {
  const out: KeySummary[] = [];
  for (const id of await listKeyIds(store, signal)) {
    try {
      const info = readKeyFileInfo(await store.get(keyName(id), { signal }));
      out.push({ id, ...info, current: id === currentKeyId });
    } catch (err) {
      out.push({ id, current: id === currentKeyId, damaged: (err as Error).message });
    }
  }
  return out;
}

/**
 * Removes a key. Refuses the key in use (change its password instead) and the last intact key.
 */
export async function removeKey(
  store: Store,
  keyId: string,
  currentKeyId: string,
  signal?: AbortSignal,
): Promise<void> {
  if (!store.capabilities.deletes) {
    throw new CairnError('NOT_SUPPORTED', `${store.location} cannot delete objects, so keys cannot be removed`);
  }
  const ids = await listKeyIds(store, signal);
  const match = ids.filter((id) => id.startsWith(keyId));
  if (match.length === 0) throw new CairnError('NOT_FOUND', `no key ${keyId}`);
  if (match.length > 1) throw new CairnError('AMBIGUOUS_ID', `key id prefix ${keyId} matches ${match.length} keys`);
  const id = match[0]!;
  if (id === currentKeyId) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'refusing to remove the key this session is using; open with another password first',
    );
  }
  if (ids.length <= 1) throw new CairnError('LAST_KEY', 'refusing to remove the last key of the repository');
  await store.delete(keyName(id), { signal });
}

/**
 * Changes the password of the current key: writes the new key first, then deletes the old one.
 * Returns the new key id.
 */
export async function changePassword(
  store: Store,
  master: MasterKeys,
  currentKeyId: string,
  newPassword: string | Uint8Array,
  options: NewKeyOptions & { signal?: AbortSignal } = {},
): Promise<string> {
  const newId = await addKey(store, master, newPassword, options);
  if (store.capabilities.deletes) await store.delete(keyName(currentKeyId), { signal: options.signal });
  return newId;
}
