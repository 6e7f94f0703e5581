import { findSnapshot } from '@cairn/core';
import type { Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { snapshotJson } from './snapshots.js';

const cat: Command = {
  name: 'cat',
  summary: 'print the decrypted config or a snapshot as JSON',
  usage: 'cat config | cat snapshot SNAPSHOT',
  options: {},
  async run(ctx, args) {
    const [what, ref, extra] = args.positionals;
    if (extra) throw new UsageError(`unexpected argument "${extra}"`, 'cat');
    if (what === 'config') {
      if (ref) throw new UsageError(`unexpected argument "${ref}"`, 'cat');
      const repo = await ctx.repository();
      process.stdout.write(`${JSON.stringify(repo.config, null, 2)}\n`);
      return 0;
    }
    if (what === 'snapshot') {
      if (!ref) throw new UsageError('missing SNAPSHOT', 'cat');
      const repo = await ctx.repository();
      const s = await findSnapshot(repo, ref, { signal: ctx.signal });
      process.stdout.write(`${JSON.stringify(snapshotJson(s), null, 2)}\n`);
      return 0;
    }
    throw new UsageError(
      what ? `cannot cat "${what}" (config or snapshot)` : 'what to print: config or snapshot ID',
      'cat',
    );
  },
};

export default cat;
