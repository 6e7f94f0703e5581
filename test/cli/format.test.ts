/** The human renderings of format.ts (unit tests: no CLI process needed). */
import { describe, expect, it } from 'vitest';
import { modeString } from '../../packages/cli/src/format.js';
import { nodeLine } from '../../packages/cli/src/node-json.js';

describe('modeString', () => {
  it.each([
    ['file', 0o644, '-rw-r--r--'],
    ['dir', 0o755, 'drwxr-xr-x'],
    ['symlink', 0o777, 'lrwxrwxrwx'],
    // setuid, setgid and sticky bits as ls(1) shows them: lower case over x, upper case without it
    ['file', 0o4755, '-rwsr-xr-x'],
    ['file', 0o4644, '-rwSr--r--'],
    ['file', 0o2755, '-rwxr-sr-x'],
    ['dir', 0o2745, 'drwxr-Sr-x'],
    ['dir', 0o1777, 'drwxrwxrwt'],
    ['dir', 0o1776, 'drwxrwxrwT'],
    ['file', 0o7777, '-rwsrwsrwt'],
    ['file', 0o7000, '---S--S--T'],
  ])('%s %o is %s', (type, mode, expected) => {
    expect(modeString(type, mode)).toBe(expected);
  });
});

describe('nodeLine', () => {
  const base = {
    name: new Uint8Array(),
    mode: 0o660,
    uid: 0,
    gid: 6,
    mtimeNs: 0n,
    ctimeNs: 0n,
    inode: 1n,
    device: 1n,
    links: 1,
  };
  it('shows a device’s major and minor numbers where a file shows its size', () => {
    expect(nodeLine('/dev/null', { ...base, type: 'chardev', rdev: 259n })).toMatch(/^crw-rw---- 0 6\s+1, 3 {2}/);
    // Numbers beyond 8 bits of minor and 12 of major use glibc's full split.
    expect(nodeLine('/dev/nvme', { ...base, type: 'blockdev', rdev: 286327664n })).toMatch(/\s259, 70000 {2}/);
  });
});
