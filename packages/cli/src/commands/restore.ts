import { lstat, stat } from 'node:fs/promises';
import { CairnError, findSnapshot, prestartWriterThreads, restore as runRestore } from '@cairn/core';
import { type Command, flag, list, str } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { bytes, seconds } from '../format.js';
import { exactArgument } from '../raw-args.js';
import { snapshotFilter } from '../snapshot-filter.js';
import { UsageError } from '../usage-error.js';

/**
 * Refuses a --target that exists but is no directory (a file, a dangling symlink, or a path through
 * a file): the restore's mkdir would fail with a bare EEXIST or ENOTDIR, reported as an internal
 * error, and only after the password and the snapshot. Other stat failures are the restore's to report.
 */
async function checkTarget(target: string): Promise<void> {
  let problem: string | undefined;
  try {
    if (!(await stat(target)).isDirectory()) problem = 'exists and is not a directory';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') problem = 'is not a directory: a part of its path is a file';
    else if (code === 'ENOENT' && (await lstat(target).catch(() => undefined))) {
      problem = 'is not a directory: it is a symlink to nothing';
    }
  }
  if (problem) {
    throw new CairnError('INVALID_ARGUMENT', `--target ${target} ${problem}`, { details: { path: target } });
  }
}

const restore: Command = {
  name: 'restore',
  summary: 'restore a snapshot into a directory',
  usage: 'restore SNAPSHOT --target DIR [--include PATH]... [--overwrite]',
  description:
    'Restores SNAPSHOT (an id, a unique id prefix, or "latest") under DIR, recreating the backed-up absolute paths below it. Existing files that differ are a conflict unless --overwrite is given; files already restored completely are verified and skipped, so an interrupted restore can simply be run again. An --include PATH the snapshot does not hold is an error when no PATH is there, and a failure of its own otherwise. Exit code 3 when some files could not be restored.',
  options: {
    target: { type: 'string', short: 't', value: 'DIR', help: 'directory to restore into' },
    include: {
      type: 'string',
      multiple: true,
      short: 'i',
      value: 'PATH',
      help: 'restore only PATH (absolute path in the snapshot)',
    },
    overwrite: { type: 'boolean', help: 'replace existing files that differ from the snapshot' },
    host: {
      type: 'string',
      multiple: true,
      value: 'HOST',
      help: 'with "latest": latest snapshot of HOST (of one of them, if several)',
    },
  },
  async run(ctx, args) {
    const ref = args.positionals[0];
    const target = str(args, 'target');
    if (!ref) throw new UsageError('missing SNAPSHOT (an id, id prefix or "latest")', 'restore');
    if (args.positionals.length > 1) throw new UsageError(`unexpected argument "${args.positionals[1]}"`, 'restore');
    if (!target) throw new UsageError('missing --target DIR', 'restore');
    await checkTarget(target);
    // The writer threads load their code while the key is derived (a core is idle then).
    const repo = await ctx.repository({ onKeyDerivation: () => prestartWriterThreads() });
    const snapshot = await findSnapshot(repo, ref, { filter: snapshotFilter(list(args, 'host')), signal: ctx.signal });
    const include = list(args, 'include').map(exactArgument);
    const summary = await runRestore(repo, snapshot, {
      target,
      ...(include.length ? { include } : {}),
      overwrite: flag(args, 'overwrite'),
      signal: ctx.signal,
      onEvent: (e) => ctx.out.event(e),
    });
    const f = summary.files;
    ctx.out.info(`restored snapshot ${summary.snapshotId.slice(0, 8)} to ${summary.target}`);
    ctx.out.info(
      `files: ${f.restored} restored, ${f.skipped} already complete, ${f.failed} failed; ${summary.dirs} directories; ${bytes(summary.bytes.written)} in ${seconds(summary.durationMs)}`,
    );
    if (f.failed > 0 || summary.failures.length > 0) {
      ctx.out.warn(`warning: ${summary.failures.length} item(s) could not be restored:`);
      for (const x of summary.failures.slice(0, 20)) ctx.out.warn(`  ${x.path}: ${x.message}`);
      return EXIT.partial;
    }
    return EXIT.ok;
  },
};

export default restore;
