/**
 * What every command gets: the global options, the output, a cancellation signal (Ctrl-C), and
 * helpers to reach the repository. Opening checks the repository exists before asking for a
 * password, so a wrong path fails fast with exit code 10.
 */
import { CairnError, Repository, type Store } from '@cairn/core';
import type { Output } from './output.js';
import { getPassword } from './password.js';
import { storeFromUrl } from './store-url.js';

export interface GlobalOptions {
  repo?: string | undefined;
  cacheDir?: string | undefined;
  passwordFile?: string | undefined;
  passwordCommand?: string | undefined;
  json: boolean;
  quiet: boolean;
  noProgress: boolean;
  verbose: boolean;
}

export class Context {
  private openStore: Store | undefined;
  private openRepo: Repository | undefined;

  constructor(
    readonly globals: GlobalOptions,
    readonly out: Output,
    readonly signal: AbortSignal,
  ) {}

  /** The repository location from --repo or CAIRN_REPOSITORY. */
  location(): string {
    const loc = this.globals.repo ?? process.env.CAIRN_REPOSITORY;
    if (!loc) {
      throw new CairnError('INVALID_ARGUMENT', 'no repository given: use --repo LOCATION or set CAIRN_REPOSITORY');
    }
    return loc;
  }

  /** The store behind the repository location. */
  store(): Store {
    this.openStore ??= storeFromUrl(this.location());
    return this.openStore;
  }

  /** Asks for (or reads) the password. */
  password(prompt?: string): Promise<string> {
    return getPassword({ file: this.globals.passwordFile, command: this.globals.passwordCommand }, prompt);
  }

  /**
   * Opens the repository (once per command). `onKeyDerivation`: see `OpenOptions`; not called when
   * the repository is open already.
   */
  async repository(options: { onKeyDerivation?: () => void } = {}): Promise<Repository> {
    if (this.openRepo) return this.openRepo;
    const store = this.store();
    if (!(await Repository.exists(store, this.signal))) {
      throw new CairnError('REPO_NOT_FOUND', `no repository at ${store.location} (create one with "cairn init")`);
    }
    const password = await this.password();
    this.openRepo = await Repository.open(store, {
      password,
      signal: this.signal,
      ...(this.globals.cacheDir ? { cacheDir: this.globals.cacheDir } : {}),
      ...(options.onKeyDerivation ? { onKeyDerivation: options.onKeyDerivation } : {}),
      onWarning: (w) => this.out.warn(`warning: ${w.message}`),
    });
    return this.openRepo;
  }

  /** Remembers a repository opened another way (init). */
  adopt(repo: Repository): void {
    this.openRepo = repo;
  }

  async close(): Promise<void> {
    await this.openRepo?.close();
    await this.openStore?.close();
  }
}
