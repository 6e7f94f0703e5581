import { CairnError, Repository } from '@cairn/core';
import { type Command, str } from '../command.js';
import { getNewPassword, getPassword } from '../password.js';
import { parseSize } from '../sizes.js';

const init: Command = {
  name: 'init',
  summary: 'create a new repository',
  usage: 'init [options]',
  description:
    'Creates a new, empty repository at --repo. Chunking parameters and compression are fixed for the life of the repository. Refuses to touch a location that already holds a repository.',
  options: {
    compression: { type: 'string', value: 'ALGO', help: 'lz4 (default), zstd or none' },
    'chunk-min': { type: 'string', value: 'SIZE', help: 'minimum chunk size (default 256K)' },
    'chunk-avg': { type: 'string', value: 'SIZE', help: 'average chunk size (default 1M)' },
    'chunk-max': { type: 'string', value: 'SIZE', help: 'maximum chunk size (default 4M)' },
    'pack-size': { type: 'string', value: 'SIZE', help: 'target pack size (default 16M)' },
    'kdf-work': { type: 'string', value: 'N', help: 'scrypt cost N for the key (power of two; default 131072)' },
  },
  async run(ctx, args) {
    const store = ctx.store();
    if (await Repository.exists(store, ctx.signal)) {
      throw new CairnError('REPO_EXISTS', `a repository already exists at ${store.location}; refusing to overwrite it`);
    }
    const chunker: { min?: number; avg?: number; max?: number } = {};
    for (const k of ['min', 'avg', 'max'] as const) {
      const v = str(args, `chunk-${k}`);
      if (v) chunker[k] = parseSize(v, `--chunk-${k}`);
    }
    const compression = str(args, 'compression') as 'lz4' | 'zstd' | 'none' | undefined;
    const packSize = str(args, 'pack-size');
    const work = str(args, 'kdf-work');
    const explicit =
      ctx.globals.passwordFile || ctx.globals.passwordCommand || process.env.CAIRN_PASSWORD !== undefined;
    const password =
      explicit || !process.stdin.isTTY
        ? await getPassword({ file: ctx.globals.passwordFile, command: ctx.globals.passwordCommand })
        : await getNewPassword(undefined, 'CAIRN_PASSWORD');
    const repo = await Repository.init(store, {
      password,
      chunker,
      ...(compression ? { compression } : {}),
      ...(packSize ? { packSize: parseSize(packSize, '--pack-size') } : {}),
      ...(work ? { scrypt: { N: Number(work), r: 8, p: 1 } } : {}),
      ...(ctx.globals.cacheDir ? { cacheDir: ctx.globals.cacheDir } : {}),
      signal: ctx.signal,
    });
    ctx.adopt(repo);
    const c = repo.config;
    if (ctx.out.json) {
      ctx.out.printJson({
        type: 'summary',
        operation: 'init',
        id: c.id,
        location: store.location,
        chunker: c.chunker,
        compression: c.compression,
        packSize: c.packSize,
      });
    } else {
      ctx.out.info(`created repository ${c.id.slice(0, 8)} at ${store.location}`);
      ctx.out.info(
        `chunks ${c.chunker.min}/${c.chunker.avg}/${c.chunker.max} bytes (min/avg/max), ${c.compression} compression`,
      );
      ctx.out.info('Keep the password safe: without it the data cannot be read back.');
    }
    return 0;
  },
};

export default init;
