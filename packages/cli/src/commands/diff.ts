import { findSnapshot, type Repository, type TreeNode, walkTree } from '@cairn/core';
import type { Command } from '../command.js';
import { bytes } from '../format.js';
import { UsageError } from '../usage-error.js';

type Change = '+' | '-' | 'M' | 'T' | 'U';

interface DiffCounts {
  added: number;
  removed: number;
  modified: number;
  typeChanged: number;
  metadata: number;
  bytesAdded: number;
  bytesRemoved: number;
}

function sameContent(a: TreeNode, b: TreeNode): boolean {
  const x = a.content ?? a.contentLists ?? [];
  const y = b.content ?? b.contentLists ?? [];
  return a.size === b.size && x.length === y.length && x.every((v, i) => v === y[i]);
}

function sameMeta(a: TreeNode, b: TreeNode): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs;
}

async function entries(repo: Repository, tree: string | undefined, signal: AbortSignal): Promise<TreeNode[]> {
  const out: TreeNode[] = [];
  if (tree) for await (const n of repo.treeEntries(tree, signal)) out.push(n);
  return out;
}

const diff: Command = {
  name: 'diff',
  summary: 'show what changed between two snapshots',
  usage: 'diff SNAPSHOT1 SNAPSHOT2',
  description:
    'Lists paths added (+), removed (-), with changed content (M), changed type (T) or changed metadata only (U) from SNAPSHOT1 to SNAPSHOT2.',
  options: {},
  async run(ctx, args) {
    const [a, b, extra] = args.positionals;
    if (!a || !b) throw new UsageError('diff needs two snapshots', 'diff');
    if (extra) throw new UsageError(`unexpected argument "${extra}"`, 'diff');
    const repo = await ctx.repository();
    const s1 = await findSnapshot(repo, a, { signal: ctx.signal });
    const s2 = await findSnapshot(repo, b, { signal: ctx.signal });
    const counts: DiffCounts = {
      added: 0,
      removed: 0,
      modified: 0,
      typeChanged: 0,
      metadata: 0,
      bytesAdded: 0,
      bytesRemoved: 0,
    };
    const report = (change: Change, path: string) => {
      if (ctx.out.json) ctx.out.printJson({ type: 'change', change, path });
      else ctx.out.result(`${change}    ${path}`);
    };
    const whole = async (change: '+' | '-', path: string, node: TreeNode) => {
      report(change, path);
      const bump = (n: TreeNode) => {
        if (change === '+') {
          counts.added++;
          counts.bytesAdded += n.size ?? 0;
        } else {
          counts.removed++;
          counts.bytesRemoved += n.size ?? 0;
        }
      };
      bump(node);
      if (node.type === 'dir' && node.subtree) {
        for await (const e of walkTree(repo, node.subtree, { prefix: path, signal: ctx.signal })) {
          report(change, e.path);
          bump(e.node);
        }
      }
    };
    const walk = async (t1: string | undefined, t2: string | undefined, prefix: string): Promise<void> => {
      if (t1 === t2) return;
      const x = await entries(repo, t1, ctx.signal);
      const y = await entries(repo, t2, ctx.signal);
      let i = 0;
      let j = 0;
      while (i < x.length || j < y.length) {
        const cmp =
          i >= x.length ? 1 : j >= y.length ? -1 : Buffer.compare(Buffer.from(x[i]!.name), Buffer.from(y[j]!.name));
        if (cmp < 0) {
          const n = x[i++]!;
          await whole('-', `${prefix}/${Buffer.from(n.name).toString()}`, n);
        } else if (cmp > 0) {
          const n = y[j++]!;
          await whole('+', `${prefix}/${Buffer.from(n.name).toString()}`, n);
        } else {
          const n1 = x[i++]!;
          const n2 = y[j++]!;
          const path = `${prefix}/${Buffer.from(n1.name).toString()}`;
          if (n1.type !== n2.type) {
            report('T', path);
            counts.typeChanged++;
          } else if (n1.type === 'dir') {
            if (!sameMeta(n1, n2)) {
              report('U', path);
              counts.metadata++;
            }
            await walk(n1.subtree, n2.subtree, path);
          } else if (n1.type === 'file' && !sameContent(n1, n2)) {
            report('M', path);
            counts.modified++;
            counts.bytesAdded += n2.size ?? 0;
            counts.bytesRemoved += n1.size ?? 0;
          } else if (
            !sameMeta(n1, n2) ||
            Buffer.compare(Buffer.from(n1.target ?? []), Buffer.from(n2.target ?? [])) !== 0
          ) {
            report(n1.type === 'symlink' ? 'M' : 'U', path);
            if (n1.type === 'symlink') counts.modified++;
            else counts.metadata++;
          }
        }
      }
    };
    await walk(s1.tree, s2.tree, '');
    if (ctx.out.json) {
      ctx.out.printJson({ type: 'summary', operation: 'diff', from: s1.id, to: s2.id, ...counts });
    } else {
      ctx.out.result(
        `\n${counts.added} added, ${counts.removed} removed, ${counts.modified} modified, ${counts.typeChanged} changed type, ${counts.metadata} metadata only; +${bytes(counts.bytesAdded)} -${bytes(counts.bytesRemoved)}`,
      );
    }
    return 0;
  },
};

export default diff;
