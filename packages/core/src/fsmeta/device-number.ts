/** Linux's split of a device number into major and minor, as glibc's major(3) and minor(3). */

/** The major and minor numbers of device number `rdev` (as `stat` gives it). */
export function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
  };
}
