/**
 * Builds a Store from a repository location: a plain path or file:// URL is a disk repository.
 * `s3://bucket/prefix` and `ltfs:///mount/point` belong to adapters that are not part of this build
 * yet; they fail with a clear NOT_SUPPORTED error instead of being mistaken for paths.
 */
import { CairnError, type Store } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';
import { diskPath, urlScheme } from './store-location.js';

/** Packs stay open this long between reads: the CLI closes its store when a command ends. */
const PACK_IDLE_MS = 250;

export function storeFromUrl(location: string): Store {
  const path = diskPath(location);
  if (path === undefined) {
    throw new CairnError(
      'NOT_SUPPORTED',
      `repository scheme "${urlScheme(location)}://" is not available in this build of cairn (supported: a path or file://)`,
    );
  }
  return new DiskStore(path, { packIdleMs: PACK_IDLE_MS });
}
