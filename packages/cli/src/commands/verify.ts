import { prestartWriterThreads, verify as runVerify, type VerifyProblem, type VerifyReport } from '@cairn/core';
import { type Command, flag, list, str } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { bytes, seconds } from '../format.js';
import { UsageError } from '../usage-error.js';

function human(ctx: Parameters<Command['run']>[0], r: VerifyReport): void {
  const c = r.checked;
  ctx.out.info(
    `checked ${c.keys} key(s), ${c.indexSegments} index segment(s) with ${c.indexEntries} entries, ${c.snapshots} snapshot(s), ${c.trees} tree(s), ${c.files} file(s)`,
  );
  ctx.out.info(
    `read ${c.packsRead} of ${c.packs} pack(s), ${bytes(c.bytesRead)}${r.readData ? `, ${c.blobsRead} blob(s) decrypted and re-hashed` : ' (ids checked)'}${r.subset !== 'all' ? ` [subset ${r.subset}]` : ''} in ${seconds(r.durationMs)}`,
  );
  if (r.drill) {
    const ok = r.drill.files.filter((f) => f.ok).length;
    ctx.out.info(
      `restore drill: ${ok} of ${r.drill.files.length} random file(s) restored and verified (${bytes(r.drill.bytes)})`,
    );
    for (const f of r.drill.files) ctx.out.verbose(`  ${f.ok ? 'ok  ' : 'FAIL'} ${f.snapshot.slice(0, 8)}:${f.path}`);
  }
  if (r.unindexedPacks.length > 0)
    ctx.out.info(
      `note: ${r.unindexedPacks.length} pack(s) are not listed by the index: left by an interrupted backup, or ` +
        'data that two backups stored at the same time ("cairn repair index" uses any blob in them not stored elsewhere)',
    );
  if (r.ok) {
    ctx.out.info('no problems found');
    return;
  }
  ctx.out.warn(`${r.problems.length} problem(s) found:`);
  // Problems that differ only in their object (the blobs of one missing pack) are shown once, with
  // the union of what they affect; --verbose lists the objects, --json has each problem.
  const groups = new Map<string, VerifyProblem[]>();
  for (const p of r.problems) {
    const key = `${p.kind}\0${p.code}\0${p.message}\0${p.hint ?? ''}`;
    const g = groups.get(key);
    if (g) g.push(p);
    else groups.set(key, [p]);
  }
  for (const g of groups.values()) {
    const p = g[0]!;
    const snapshots = [...new Set(g.flatMap((x) => x.snapshots))];
    const paths = [...new Set(g.flatMap((x) => x.paths))];
    ctx.out.warn(`- ${g.length === 1 ? p.object : `${g.length} ${p.kind}s`}: ${p.message} [${p.code}]`);
    if (g.length > 1) for (const x of g) ctx.out.verbose(`    ${x.object}`);
    if (snapshots.length)
      ctx.out.warn(`  affects ${snapshots.length} snapshot(s): ${snapshots.map((s) => s.slice(0, 8)).join(', ')}`);
    for (const path of paths.slice(0, 10)) ctx.out.warn(`    ${path}`);
    if (paths.length > 10) ctx.out.warn(`    … ${paths.length - 10} more`);
    if (p.hint) ctx.out.warn(`  hint: ${p.hint}`);
  }
}

const verify: Command = {
  name: 'verify',
  summary: "check the repository's integrity, optionally reading all data",
  usage: 'verify [--read-data | --read-data-subset P%|K/N|random:P%] [--restore-drill N [--snapshot ID]...]',
  description:
    "Checks keys, index, packs (their bytes against their ids) and that every snapshot's trees and files resolve. --read-data also decrypts and re-hashes every blob; --read-data-subset reads a deterministic share (P% or slice K of N, e.g. one per day) or a random one. --restore-drill N restores N random files to a temporary folder and checks them. Every problem names the damaged object, the snapshots and the paths that depend on it. Exit code 0 only when everything checked is sound, 1 otherwise.",
  options: {
    'read-data': { type: 'boolean', help: 'decrypt and re-hash every blob' },
    'read-data-subset': {
      type: 'string',
      value: 'SUBSET',
      help: 'like --read-data for a subset of packs: P%, K/N or random:P%',
    },
    'restore-drill': { type: 'string', value: 'N', help: 'restore N random files and check them' },
    snapshot: { type: 'string', multiple: true, value: 'ID', help: 'snapshots the drill picks from (default: all)' },
  },
  async run(ctx, args) {
    if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, 'verify');
    const subset = str(args, 'read-data-subset');
    const drill = str(args, 'restore-drill');
    if (drill !== undefined && !/^\d+$/.test(drill)) throw new UsageError('--restore-drill needs a number', 'verify');
    const readData = flag(args, 'read-data') || subset !== undefined;
    // Reading data checks packs on writer threads: they load their code while the key is derived.
    const repo = await ctx.repository(readData ? { onKeyDerivation: () => prestartWriterThreads() } : {});
    const report = await runVerify(repo, {
      readData,
      ...(subset ? { subset } : {}),
      ...(drill ? { restoreDrill: Number(drill) } : {}),
      ...(list(args, 'snapshot').length ? { drillSnapshots: list(args, 'snapshot') } : {}),
      signal: ctx.signal,
      // Without --json, problems are listed once, grouped, in the report at the end.
      onEvent: (e) => {
        if (ctx.out.json || e.type !== 'error') ctx.out.event(e);
      },
    });
    if (!ctx.out.json) human(ctx, report);
    return report.ok ? EXIT.ok : EXIT.error;
  },
};

export default verify;
