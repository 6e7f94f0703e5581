import { findPath, findSnapshot, walkTree } from '@cairn/core';
import { type Command, flag } from '../command.js';
import { nodeJson, nodeLine } from '../node-json.js';
import { exactArgument } from '../raw-args.js';
import { UsageError } from '../usage-error.js';

const ls: Command = {
  name: 'ls',
  summary: 'list the files in a snapshot',
  usage: 'ls SNAPSHOT [PATH]',
  description: 'Lists everything below PATH (default /) in SNAPSHOT. With --json, one JSON object per entry and line.',
  options: {
    long: { type: 'boolean', short: 'l', help: 'show mode, owner, size and time' },
  },
  async run(ctx, args) {
    const [ref, path = '/', extra] = args.positionals;
    if (!ref) throw new UsageError('missing SNAPSHOT', 'ls');
    if (extra) throw new UsageError(`unexpected argument "${extra}"`, 'ls');
    const repo = await ctx.repository();
    const snapshot = await findSnapshot(repo, ref, { signal: ctx.signal });
    const start = await findPath(repo, snapshot.tree, exactArgument(path), ctx.signal);
    const long = flag(args, 'long');
    const clean = `/${path.split('/').filter(Boolean).join('/')}`;
    const emit = (p: string, node: Parameters<typeof nodeJson>[1]) => {
      if (ctx.out.json) ctx.out.printJson(nodeJson(p, node));
      else ctx.out.result(long ? nodeLine(p, node) : p);
    };
    if (start.node) emit(clean, start.node);
    if (start.tree) {
      for await (const e of walkTree(repo, start.tree, { prefix: clean === '/' ? '' : clean, signal: ctx.signal })) {
        emit(e.path, e.node);
      }
    }
    return 0;
  },
};

export default ls;
