import { findSnapshot } from '@cairn/core';
import type { Command } from '../command.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';
import { snapshotJson } from './snapshots.js';

/** Indented for a reader; on one line with --json, where every stdout line is one JSON value. */
function print(out: Output, value: unknown): void {
  if (out.json) out.printJson(value);
  else out.result(JSON.stringify(value, null, 2));
}

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
      print(ctx.out, repo.config);
      return 0;
    }
    if (what === 'snapshot') {
      if (!ref) throw new UsageError('missing SNAPSHOT', 'cat');
      const repo = await ctx.repository();
      const s = await findSnapshot(repo, ref, { signal: ctx.signal });
      print(ctx.out, snapshotJson(s));
      return 0;
    }
    throw new UsageError(
      what ? `cannot cat "${what}" (config or snapshot)` : 'what to print: config or snapshot ID',
      'cat',
    );
  },
};

export default cat;
