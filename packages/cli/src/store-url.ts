/**
 * Builds a Store from a repository location: a plain path or file:// URL is a disk repository.
 * `s3://bucket/prefix` and `ltfs:///mount/point` belong to adapters that are not part of this build
 * yet; they fail with a clear NOT_SUPPORTED error instead of being mistaken for paths.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnError, type Store } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';

/** Packs stay open this long between reads: the CLI closes its store when a command ends. */
const PACK_IDLE_MS = 250;

export function storeFromUrl(location: string): Store {
  if (location.startsWith('file://')) return new DiskStore(fileURLToPath(location), { packIdleMs: PACK_IDLE_MS });
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  if (scheme) {
    throw new CairnError(
      'NOT_SUPPORTED',
      `repository scheme "${scheme}://" is not available in this build of cairn (supported: a path or file://)`,
    );
  }
  return new DiskStore(resolve(location), { packIdleMs: PACK_IDLE_MS });
}
