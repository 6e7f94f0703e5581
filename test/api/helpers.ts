/** Shared set-up for API end-to-end tests: temp folders and a real disk repository. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repository } from '@cairn/core';
import { DiskStore } from '@cairn/store-disk';

export const PASSWORD = 'correct horse battery staple';
/** Low scrypt cost: these tests open repositories many times. */
export const FAST_KDF = { scrypt: { N: 1024, r: 8, p: 1 } };

const made: string[] = [];

/** A fresh temp folder, removed by {@link cleanup}. */
export function tempDir(prefix = 'cairn-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A new repository on disk with its own cache folder. */
export async function newRepo(
  base = tempDir(),
  options: Partial<Parameters<typeof Repository.init>[1]> = {},
): Promise<{ repo: Repository; store: DiskStore; base: string; cacheDir: string }> {
  const store = new DiskStore(join(base, 'repo'));
  const cacheDir = join(base, 'cache');
  const repo = await Repository.init(store, { password: PASSWORD, cacheDir, ...FAST_KDF, ...options });
  return { repo, store, base, cacheDir };
}

/** Opens the repository again (a second session, as another process would). */
export async function reopen(base: string): Promise<Repository> {
  return Repository.open(new DiskStore(join(base, 'repo')), { password: PASSWORD, cacheDir: join(base, 'cache') });
}
