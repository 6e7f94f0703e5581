import { removeLocks } from '@cairn/core';
import { type Command, flag } from '../command.js';

const unlock: Command = {
  name: 'unlock',
  summary: 'remove stale locks',
  usage: 'unlock [--remove-all]',
  description:
    'Removes locks whose process is gone (same host, dead pid) or that were not refreshed for 30 minutes. --remove-all removes every lock: only when you are sure no other cairn process uses the repository.',
  options: {
    'remove-all': { type: 'boolean', help: 'remove every lock, not only stale ones' },
  },
  async run(ctx, args) {
    const repo = await ctx.repository();
    const removed = await removeLocks(repo.store, repo.keys.dataKey, {
      all: flag(args, 'remove-all'),
      signal: ctx.signal,
    });
    if (ctx.out.json)
      ctx.out.printJson({
        type: 'summary',
        operation: 'unlock',
        removed: removed.map((l) => ({ id: l.id, ...l.info })),
      });
    else {
      for (const l of removed) {
        ctx.out.info(
          `removed lock ${l.id.slice(0, 8)}${l.info ? ` (${l.info.operation} by ${l.info.user}@${l.info.host} pid ${l.info.pid}, ${l.info.time})` : ''}`,
        );
      }
      ctx.out.info(`${removed.length} lock(s) removed`);
    }
    return 0;
  },
};

export default unlock;
