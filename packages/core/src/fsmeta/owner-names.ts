/**
 * User and group names for numeric ids, read once from /etc/passwd and /etc/group (best effort:
 * names are informational at backup time and only used to map owners back at restore as root).
 */
import { readFileSync } from 'node:fs';

function parse(file: string): { byId: Map<number, string>; byName: Map<string, number> } {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { byId, byName };
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    const n = Number(id);
    if (name && Number.isInteger(n)) {
      if (!byId.has(n)) byId.set(n, name);
      if (!byName.has(name)) byName.set(name, n);
    }
  }
  return { byId, byName };
}

let users: ReturnType<typeof parse> | undefined;
let groups: ReturnType<typeof parse> | undefined;

export function userName(uid: number): string | undefined {
  users ??= parse('/etc/passwd');
  return users.byId.get(uid);
}

export function groupName(gid: number): string | undefined {
  groups ??= parse('/etc/group');
  return groups.byId.get(gid);
}

export function uidForName(name: string): number | undefined {
  users ??= parse('/etc/passwd');
  return users.byName.get(name);
}

export function gidForName(name: string): number | undefined {
  groups ??= parse('/etc/group');
  return groups.byName.get(name);
}
