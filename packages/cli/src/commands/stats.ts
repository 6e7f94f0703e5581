import { findSnapshot, repositoryStats, snapshotStats } from '@cairn/core';
import type { Command } from '../command.js';
import { bytes } from '../format.js';
import { UsageError } from '../usage-error.js';

const stats: Command = {
  name: 'stats',
  summary: 'show repository or snapshot statistics',
  usage: 'stats [SNAPSHOT]',
  description:
    'Without SNAPSHOT: what the repository stores (packs, blobs, unique data) against what its snapshots hold, and the resulting deduplication. With SNAPSHOT: its files, size and distinct data.',
  options: {},
  async run(ctx, args) {
    const [ref, extra] = args.positionals;
    if (extra) throw new UsageError(`unexpected argument "${extra}"`, 'stats');
    const repo = await ctx.repository();
    if (ref) {
      const s = await snapshotStats(repo, await findSnapshot(repo, ref, { signal: ctx.signal }), ctx.signal);
      if (ctx.out.json) ctx.out.printJson(s);
      else {
        ctx.out.result(
          `snapshot ${s.snapshotId.slice(0, 8)}: ${s.files} files, ${s.dirs} directories, ${bytes(s.totalBytes)}`,
        );
        ctx.out.result(`distinct data: ${s.uniqueBlobs} blobs, ${bytes(s.uniqueBytes)}`);
      }
      return 0;
    }
    const s = await repositoryStats(repo, ctx.signal);
    if (s.unreadableSnapshots > 0)
      ctx.out.warn(
        `warning: ${s.unreadableSnapshots} snapshot(s) cannot be read and are not counted (run "cairn verify" for details)`,
      );
    if (ctx.out.json) ctx.out.printJson(s);
    else {
      ctx.out.result(`snapshots:        ${s.snapshots}`);
      ctx.out.result(`stored:           ${bytes(s.packBytes)} in ${s.packs} packs`);
      ctx.out.result(`blobs:            ${s.dataBlobs} data, ${s.treeBlobs} tree`);
      ctx.out.result(`unique raw data:  ${bytes(s.uniqueBytes)}`);
      ctx.out.result(`snapshots hold:   ${bytes(s.snapshotBytes)}`);
      ctx.out.result(`deduplication:    ${s.dedupRatio.toFixed(2)}x`);
    }
    return 0;
  },
};

export default stats;
