/**
 * Paths of the backup walk as raw bytes: names need not be UTF-8, and are kept exact. Text is made
 * only where a person or a pattern needs it.
 */
import type { ExcludeMatcher } from './excludes.js';

const SLASH = Buffer.from('/');

/** `dir/name` (`/name` under the root). */
export function joinRawPath(dir: Buffer, name: Uint8Array): Buffer {
  return dir.length === 1 && dir[0] === 0x2f ? Buffer.concat([SLASH, name]) : Buffer.concat([dir, SLASH, name]);
}

/** A raw path as text (invalid UTF-8 shown with replacement characters). */
export function rawPathText(path: Uint8Array): string {
  return Buffer.from(path).toString('utf8');
}

/** Whether `exclude` drops the entry `name` at `path` (no text is made when nothing is excluded). */
export function isExcluded(exclude: ExcludeMatcher, path: Uint8Array, name: Uint8Array): boolean {
  return !exclude.matchesNothing && exclude(rawPathText(path), rawPathText(name));
}
