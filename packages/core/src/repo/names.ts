/**
 * Object names in a repository (docs/format.md §Layout). Every name except `config` ends in a
 * 64-hex-digit id; packs fan out over 256 folders by the id's first two digits.
 */
import { CairnError } from '../errors.js';

export const CONFIG_NAME = 'config';
export const KEYS_PREFIX = 'keys/';
export const DATA_PREFIX = 'data/';
export const INDEX_PREFIX = 'index/';
export const SNAPSHOTS_PREFIX = 'snapshots/';
export const LOCKS_PREFIX = 'locks/';

const HEX_ID = /^[0-9a-f]{64}$/;

/** True when `s` is a 64-digit lower-case hex id: the form of every repository object's id. */
export function isHexId(s: string): boolean {
  return HEX_ID.test(s);
}

export function packName(idHex: string): string {
  return `${DATA_PREFIX}${idHex.slice(0, 2)}/${idHex}`;
}
export const indexName = (idHex: string): string => `${INDEX_PREFIX}${idHex}`;
export const snapshotName = (idHex: string): string => `${SNAPSHOTS_PREFIX}${idHex}`;
export const keyName = (idHex: string): string => `${KEYS_PREFIX}${idHex}`;
export const lockName = (idHex: string): string => `${LOCKS_PREFIX}${idHex}`;

/**
 * The id at the end of an object name under `prefix`, or undefined for names that are not
 * repository objects (foreign files are ignored, never trusted).
 */
export function idFromName(name: string, prefix: string): string | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const id = name.slice(name.lastIndexOf('/') + 1);
  if (!isHexId(id)) return undefined;
  if (prefix === DATA_PREFIX && name !== packName(id)) return undefined;
  if (prefix !== DATA_PREFIX && name !== prefix + id) return undefined;
  return id;
}

/** Throws INVALID_ARGUMENT unless `id` is a hex id. */
export function assertHexId(id: string, what: string): void {
  if (!isHexId(id)) throw new CairnError('INVALID_ARGUMENT', `${what} ${JSON.stringify(id)} is not a 64-digit hex id`);
}
