/** BufferPool: reuses buffers given back, within its byte budget, and never hands one out twice. */
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/buffer-pool.js';

describe('BufferPool', () => {
  it('hands out views of exactly the size asked, reusing a given-back buffer large enough', () => {
    const pool = new BufferPool(64, 16);
    const a = pool.take(10);
    expect(a.length).toBe(10);
    expect(a.buffer.byteLength).toBe(16); // at least minSize
    pool.give(a.buffer as ArrayBuffer);
    const b = pool.take(12);
    expect(b.buffer).toBe(a.buffer);
    // Taken again: not in the pool any more, so the next one is new.
    expect(pool.take(12).buffer).not.toBe(a.buffer);
    // Too small for a larger request: a new one, the kept one stays.
    pool.give(b.buffer as ArrayBuffer);
    const big = pool.take(40);
    expect(big.buffer).not.toBe(b.buffer);
    expect(big.buffer.byteLength).toBe(40);
    expect(pool.take(5).buffer).toBe(b.buffer);
  });

  it('keeps no more bytes than its budget, ignores detached buffers and double gives', () => {
    const pool = new BufferPool(40, 16);
    const x = new ArrayBuffer(32);
    const y = new ArrayBuffer(32);
    pool.give(x);
    pool.give(x);
    pool.give(y); // over the 40-byte budget: dropped
    expect(pool.take(20).buffer).toBe(x);
    expect(pool.take(20).buffer).not.toBe(y);
    const detached = new ArrayBuffer(32);
    structuredClone(detached, { transfer: [detached] });
    pool.give(detached);
    expect(pool.take(20).buffer).not.toBe(detached);
  });
});
