import { repairIndex, repairSnapshots } from '@cairn/core';
import { type Command, flag } from '../command.js';
import { UsageError } from '../usage-error.js';

const repair: Command = {
  name: 'repair',
  summary: 'rebuild damaged repository structures',
  usage: 'repair index [--read-data] | repair snapshots [--read-data] [--dry-run]',
  description:
    "repair index: rebuilds the index from the packs' own headers (new index first, old one removed after), then the local cache. Packs that cannot be read are listed. With --read-data every blob is also opened, and damaged ones are left out of the index: a following `backup --kind full` stores that data again, after which the snapshots that need it restore again.\n" +
    'repair snapshots: writes, for every snapshot that references lost data, a new snapshot without it (tagged "repaired"; the old one is kept). With --read-data, blobs that fail authentication count as lost too; --dry-run only lists what would be dropped.',
  options: {
    'read-data': { type: 'boolean', help: 'open and re-hash every blob (slow: reads all data)' },
    'dry-run': { type: 'boolean', help: 'repair snapshots: list what would be dropped, write nothing' },
  },
  async run(ctx, args) {
    const [what, extra] = args.positionals;
    if (extra) throw new UsageError(`unexpected argument "${extra}"`, 'repair');
    if (what === 'snapshots') {
      const repo = await ctx.repository();
      const s = await repairSnapshots(repo, {
        readData: flag(args, 'read-data'),
        dryRun: flag(args, 'dry-run'),
        signal: ctx.signal,
        onEvent: (e) => ctx.out.event(e),
      });
      for (const r of s.repaired) {
        ctx.out.info(
          `snapshot ${r.original.slice(0, 8)}: ${r.droppedCount} path(s) dropped${r.replacement ? `, saved as ${r.replacement.slice(0, 8)}` : ' (dry run)'}`,
        );
        for (const d of r.dropped.slice(0, 50)) ctx.out.info(`  - ${d}`);
      }
      ctx.out.info(
        `${s.repaired.length} of ${s.snapshots} snapshot(s) ${flag(args, 'dry-run') ? 'need' : 'got'} a repaired copy`,
      );
      for (const u of s.unreadable)
        ctx.out.warn(`warning: snapshot ${u.id.slice(0, 8)} cannot be read and cannot be repaired: ${u.message}`);
      return s.unreadable.length > 0 ? 1 : 0;
    }
    if (what !== 'index')
      throw new UsageError(what ? `cannot repair "${what}"` : 'what to repair: index or snapshots', 'repair');
    const repo = await ctx.repository();
    const s = await repairIndex(repo, {
      readData: flag(args, 'read-data'),
      signal: ctx.signal,
      onEvent: (e) => ctx.out.event(e),
    });
    ctx.out.info(
      `indexed ${s.blobs} blobs in ${s.packs} packs; wrote ${s.segmentsWritten} index segment(s), removed ${s.segmentsRemoved}`,
    );
    if (s.temporaryFilesRemoved > 0)
      ctx.out.info(`removed ${s.temporaryFilesRemoved} temporary file(s) left by interrupted writes`);
    if (s.damagedPacks.length > 0) {
      ctx.out.warn(`warning: ${s.damagedPacks.length} pack(s) could not be read and are not indexed:`);
      for (const p of s.damagedPacks) ctx.out.warn(`  ${p.packId}: ${p.message}`);
    }
    if (s.damagedBlobCount > 0) {
      ctx.out.warn(
        `warning: ${s.damagedBlobCount} damaged blob(s) left out of the index; run "cairn backup --kind full" of the same paths to store that data again:`,
      );
      for (const b of s.damagedBlobs.slice(0, 50)) ctx.out.warn(`  blob ${b.blobId} in pack ${b.packId}: ${b.code}`);
    }
    if (s.damagedPacks.length > 0 || s.damagedBlobCount > 0) return 3;
    return 0;
  },
};

export default repair;
