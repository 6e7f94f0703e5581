import { listSnapshots, matchesFilter, type Snapshot } from '@cairn/core';
import { type Command, list } from '../command.js';
import { bytes, table } from '../format.js';
import { snapshotFilter } from '../snapshot-filter.js';

/** The JSON shape of a snapshot in listings (stable). */
export function snapshotJson(s: Snapshot): Record<string, unknown> {
  return {
    id: s.id,
    shortId: s.id.slice(0, 8),
    time: s.time,
    host: s.host,
    operator: s.operator,
    username: s.username,
    paths: s.paths,
    tags: s.tags,
    class: s.class,
    kind: s.kind,
    parent: s.parent,
    tree: s.tree,
    partial: s.partial,
    errorCount: s.errorCount,
    programVersion: s.programVersion,
    stats: s.stats,
    ...(s.original ? { original: s.original } : {}),
    ...(s.notes ? { notes: s.notes } : {}),
  };
}

const snapshots: Command = {
  name: 'snapshots',
  summary: 'list snapshots',
  usage: 'snapshots [options]',
  options: {
    host: {
      type: 'string',
      multiple: true,
      value: 'HOST',
      help: 'only snapshots of HOST (of one of them, if several)',
    },
    tag: {
      type: 'string',
      multiple: true,
      value: 'TAG',
      help: 'only snapshots with TAG (with all of them, if several)',
    },
    path: { type: 'string', multiple: true, value: 'PATH', help: 'only snapshots of exactly these paths' },
  },
  async run(ctx, args) {
    const repo = await ctx.repository();
    const filter = snapshotFilter(list(args, 'host'), list(args, 'tag'), list(args, 'path'));
    const all = await listSnapshots(repo, {
      signal: ctx.signal,
      onError: (e) => ctx.out.warn(`warning: snapshot ${e.id.slice(0, 8)} cannot be read: ${e.error.message}`),
    });
    const shown = all.filter((s) => matchesFilter(s, filter));
    if (ctx.out.json) {
      ctx.out.printJson(shown.map(snapshotJson));
      return 0;
    }
    const rows = [['ID', 'Time', 'Host', 'Kind', 'Class', 'Operator', 'Size', 'Tags', 'Paths']];
    for (const s of shown) {
      rows.push([
        s.id.slice(0, 8) + (s.partial ? '!' : ''),
        new Date(s.time).toLocaleString('sv-SE'),
        s.host,
        s.kind,
        s.class,
        s.operator,
        bytes(s.stats.totalBytes),
        s.tags.join(','),
        s.paths.join(' '),
      ]);
    }
    ctx.out.result(table(rows));
    ctx.out.result(
      `${shown.length} snapshot(s)${shown.some((s) => s.partial) ? '; ! = partial (some files could not be read)' : ''}`,
    );
    return 0;
  },
};

export default snapshots;
