/**
 * The restore's last check on names (the tree decoder checks them first): only one plain path
 * component passes, whatever its bytes.
 */
import { describe, expect, it } from 'vitest';
import { assertSafeName } from '../../src/restore/target-dir.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('assertSafeName', () => {
  it('refuses what is not one plain component', () => {
    for (const bad of ['', '.', '..', '/', 'a/b', '../x', 'a\0b', '\0', 'x/']) {
      expect(() => assertSafeName(bytes(bad), '/dir'), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'PATH_OUTSIDE_TARGET' }),
      );
    }
  });

  it('accepts any other bytes, dots included', () => {
    for (const ok of ['a', '...', '.a', 'a..', '..a', ' ', '\xff\xfe', 'é']) {
      expect(() => assertSafeName(bytes(ok), '/dir'), JSON.stringify(ok)).not.toThrow();
    }
    // A view into a larger buffer is judged by its own bytes only.
    const big = Buffer.from('x/..y');
    expect(() => assertSafeName(big.subarray(2, 4), '/dir')).toThrow(
      expect.objectContaining({ code: 'PATH_OUTSIDE_TARGET' }),
    );
    expect(() => assertSafeName(big.subarray(3, 5), '/dir')).not.toThrow();
  });
});
