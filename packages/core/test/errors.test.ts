import { describe, expect, it } from 'vitest';
import { CairnError, isCairnError, throwIfAborted } from '../src/errors.js';

describe('CairnError', () => {
  it('carries a stable code and details', () => {
    const err = new CairnError('NOT_FOUND', 'no such object', { details: { name: 'x' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.details).toEqual({ name: 'x' });
    expect(isCairnError(err, 'NOT_FOUND')).toBe(true);
    expect(isCairnError(err, 'LOCKED')).toBe(false);
    expect(isCairnError(new Error('x'))).toBe(false);
  });

  it('throwIfAborted throws ABORTED only after abort', () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal)).not.toThrow();
    ac.abort();
    expect(() => throwIfAborted(ac.signal)).toThrow(expect.objectContaining({ code: 'ABORTED' }));
  });
});
