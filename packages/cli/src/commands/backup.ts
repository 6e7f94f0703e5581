import {
  BACKUP_KINDS,
  type BackupKind,
  BackupScan,
  CairnError,
  DATA_CLASSES,
  type DataClass,
  type Repository,
  backup as runBackup,
} from '@cairn/core';
import { type Command, flag, list, str } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { bytes, seconds } from '../format.js';
import { UsageError } from '../usage-error.js';

/**
 * Standard input as a stream that ends with ABORTED as soon as `signal` fires. Reading
 * process.stdin directly left Ctrl-C without effect while the producer was silent (a stalled dump):
 * the backup only saw the signal after the next chunk arrived, so the first Ctrl-C did nothing.
 */
async function* abortableStdin(signal: AbortSignal): AsyncIterable<Uint8Array> {
  const stdin = process.stdin;
  const it = (stdin as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new CairnError('ABORTED', 'operation was cancelled', { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // A read may still be pending; stop reading so the process can exit.
    if (signal.aborted) stdin.destroy();
  }
}

const backup: Command = {
  name: 'backup',
  summary: 'back up files, directories or standard input',
  usage: 'backup [options] PATH...   |   backup --stdin --stdin-name NAME [options]',
  description:
    'Stores a new snapshot of PATHs. Kinds: incremental (default; unchanged files are not read again, parent = latest snapshot of the same host and paths), differential (parent = latest full snapshot), full (every file is read and hashed again). Excludes follow the rules of restic: a GLOB without a slash matches a name at any depth, one starting with / the absolute path, any other the last components of the path (a/cache); the last matching GLOB decides, and !GLOB includes again what GLOBs before it excluded (never what is inside an excluded directory). With -x, every PATH is backed up whatever its file system, and the walk below it stays on that file system. Exit code 3 when some files could not be read: the snapshot is saved and marked partial.',
  options: {
    kind: { type: 'string', value: 'KIND', help: 'incremental (default), differential or full' },
    tag: { type: 'string', multiple: true, value: 'TAG', help: 'tag the snapshot' },
    operator: { type: 'string', value: 'NAME', help: 'who runs the backup (default: the OS user)' },
    class: { type: 'string', value: 'CLASS', help: 'data class: critical, important or general (default)' },
    host: { type: 'string', value: 'NAME', help: 'host name to record (default: this machine)' },
    exclude: { type: 'string', multiple: true, value: 'GLOB', help: 'exclude paths matching GLOB; !GLOB re-includes' },
    'exclude-file': { type: 'string', multiple: true, value: 'FILE', help: 'read exclude patterns from FILE' },
    'one-file-system': { type: 'boolean', short: 'x', help: 'do not cross file-system boundaries below each PATH' },
    parent: { type: 'string', value: 'SNAPSHOT', help: 'compare against this snapshot instead of choosing one' },
    stdin: { type: 'boolean', help: 'back up standard input as one file' },
    'stdin-name': { type: 'string', value: 'NAME', help: 'file name for --stdin data (e.g. emr.sql)' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: one per core)' },
  },
  async run(ctx, args) {
    const kind = (str(args, 'kind') ?? 'incremental') as BackupKind;
    if (!BACKUP_KINDS.includes(kind))
      throw new UsageError(`--kind must be one of ${BACKUP_KINDS.join(', ')}`, 'backup');
    const cls = (str(args, 'class') ?? 'general') as DataClass;
    if (!DATA_CLASSES.includes(cls))
      throw new UsageError(`--class must be one of ${DATA_CLASSES.join(', ')}`, 'backup');
    const useStdin = flag(args, 'stdin');
    const stdinName = str(args, 'stdin-name');
    if (useStdin && args.positionals.length > 0) throw new UsageError('give PATHs or --stdin, not both', 'backup');
    if (!useStdin && args.positionals.length === 0)
      throw new UsageError('nothing to back up: give at least one PATH', 'backup');
    if (useStdin && !stdinName) throw new UsageError('--stdin needs --stdin-name NAME', 'backup');
    const threads = str(args, 'threads');
    if (threads !== undefined && !/^\d+$/.test(threads)) throw new UsageError('--threads must be a number', 'backup');
    const scope = {
      paths: args.positionals,
      excludes: list(args, 'exclude'),
      excludeFiles: list(args, 'exclude-file'),
      oneFileSystem: flag(args, 'one-file-system'),
    };
    // Totals (for a percentage and an ETA) cost a second walk: only when progress is shown, and
    // counted while the repository's key is derived (this thread only waits then). Started as the
    // derivation starts, not before: the count would delay the reads that lead to it.
    const counts = ctx.out.showsProgress && !useStdin;
    let scan: BackupScan | undefined;
    const startScan = () => {
      if (counts) scan ??= BackupScan.start(scope, ctx.signal);
    };
    let repo: Repository;
    try {
      repo = await ctx.repository({ onKeyDerivation: startScan });
    } catch (err) {
      scan?.stop();
      throw err;
    }
    startScan(); // the repository was open already
    const operator = str(args, 'operator');
    const host = str(args, 'host');
    const parent = str(args, 'parent');
    const summary = await runBackup(repo, {
      ...(useStdin ? { stream: { name: stdinName!, source: abortableStdin(ctx.signal) } } : { paths: scope.paths }),
      kind,
      class: cls,
      tags: list(args, 'tag'),
      ...(operator ? { operator } : {}),
      ...(host ? { host } : {}),
      ...(parent ? { parent } : {}),
      excludes: scope.excludes,
      excludeFiles: scope.excludeFiles,
      oneFileSystem: scope.oneFileSystem,
      ...(threads !== undefined ? { threads: Number(threads) } : {}),
      scan: scan ?? false,
      signal: ctx.signal,
      onEvent: (e) => ctx.out.event(e),
    });
    if (!summary.snapshotId) throw new CairnError('IO_ERROR', 'backup did not produce a snapshot');
    const f = summary.files;
    ctx.out.info(
      `snapshot ${summary.snapshotId.slice(0, 8)} saved (${summary.kind}${summary.parent ? `, parent ${summary.parent.slice(0, 8)}` : ''})`,
    );
    ctx.out.info(`files: ${f.new} new, ${f.changed} changed, ${f.unchanged} unchanged; ${summary.dirs} directories`);
    ctx.out.info(
      `read ${bytes(summary.bytes.read)}, added ${bytes(summary.bytes.added)} (stored ${bytes(summary.bytes.stored)}) in ${seconds(summary.durationMs)}`,
    );
    if (summary.partial) {
      ctx.out.warn(`warning: ${summary.errors} file(s) could not be read; the snapshot is marked partial`);
      return EXIT.partial;
    }
    return EXIT.ok;
  },
};

export default backup;
