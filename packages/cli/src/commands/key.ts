import { type Command, str } from '../command.js';
import { table } from '../format.js';
import { getNewPassword } from '../password.js';
import { UsageError } from '../usage-error.js';

const key: Command = {
  name: 'key',
  summary: "manage the repository's password keys",
  usage: 'key list | key add | key remove ID | key passwd',
  description:
    'Each key opens the repository with its own password. "add" creates a key for a new password, "remove" deletes one (never the one in use, never the last), "passwd" changes the password of the key in use (the new key is written before the old one is removed). New passwords come from --new-password-file, CAIRN_NEW_PASSWORD, or a prompt.',
  options: {
    'new-password-file': { type: 'string', value: 'FILE', help: 'read the new password from FILE' },
    'kdf-work': { type: 'string', value: 'N', help: 'scrypt cost N for the new key (power of two)' },
  },
  async run(ctx, args) {
    const [sub, id, extra] = args.positionals;
    if (extra || (id && sub !== 'remove')) throw new UsageError(`unexpected argument "${extra ?? id}"`, 'key');
    const work = str(args, 'kdf-work');
    const kdf = work ? { scrypt: { N: Number(work), r: 8, p: 1 } } : {};
    switch (sub) {
      case 'list': {
        const repo = await ctx.repository();
        const keys = await repo.listKeys(ctx.signal);
        if (ctx.out.json) {
          ctx.out.printJson(keys);
          return 0;
        }
        const rows = [[' ID', 'User', 'Host', 'Created', 'KDF']];
        for (const k of keys) {
          rows.push([
            `${k.current ? '*' : ' '}${k.id.slice(0, 8)}`,
            k.username ?? '?',
            k.host ?? '?',
            k.created ?? '?',
            k.damaged ? `damaged: ${k.damaged}` : (k.kdf ?? ''),
          ]);
        }
        ctx.out.result(table(rows));
        return 0;
      }
      case 'add': {
        const repo = await ctx.repository();
        const pw = await getNewPassword(str(args, 'new-password-file'));
        const newId = await repo.addKey(pw, { ...kdf, signal: ctx.signal });
        if (ctx.out.json) ctx.out.printJson({ type: 'summary', operation: 'key add', id: newId });
        else ctx.out.info(`added key ${newId.slice(0, 8)}`);
        return 0;
      }
      case 'remove': {
        if (!id) throw new UsageError('missing key ID (see "cairn key list")', 'key');
        const repo = await ctx.repository();
        await repo.removeKey(id, ctx.signal);
        if (ctx.out.json) ctx.out.printJson({ type: 'summary', operation: 'key remove', id });
        else ctx.out.info(`removed key ${id}`);
        return 0;
      }
      case 'passwd': {
        const repo = await ctx.repository();
        const pw = await getNewPassword(str(args, 'new-password-file'));
        const newId = await repo.changePassword(pw, { ...kdf, signal: ctx.signal });
        if (ctx.out.json) ctx.out.printJson({ type: 'summary', operation: 'key passwd', id: newId });
        else ctx.out.info(`password changed (new key ${newId.slice(0, 8)})`);
        return 0;
      }
      default:
        throw new UsageError(
          sub ? `unknown key command "${sub}"` : 'missing key command: list, add, remove or passwd',
          'key',
        );
    }
  },
};

export default key;
