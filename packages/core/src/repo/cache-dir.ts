/**
 * Where local caches live: the `cacheDir` option, else CAIRN_CACHE_DIR, else $XDG_CACHE_HOME/cairn,
 * else ~/.cache/cairn; one folder per repository id inside it.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache root to use for an explicit option (or none). */
export function resolveCacheRoot(option?: string): string {
  if (option) return option;
  if (process.env.CAIRN_CACHE_DIR) return process.env.CAIRN_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(homedir(), '.cache'), 'cairn');
}

/** The cache folder of one repository. */
export function repositoryCacheDir(cacheRoot: string, repositoryId: string): string {
  return join(cacheRoot, repositoryId);
}
