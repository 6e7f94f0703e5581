/**
 * The fallback when the native binary cannot load. Runs in its own file (its own process) because
 * backend choice happens once, at import: the import below happens after the native loader has
 * been pointed at a binary that does not exist.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';

describe('BLAKE3 without a loadable native binary', () => {
  const saved = { path: process.env.NAPI_RS_NATIVE_LIBRARY_PATH, choice: process.env.CAIRN_BLAKE3 };
  afterAll(() => {
    for (const [name, value] of [
      ['NAPI_RS_NATIVE_LIBRARY_PATH', saved.path],
      ['CAIRN_BLAKE3', saved.choice],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('falls back to WASM, warns when native was asked for, and still hashes correctly', async () => {
    process.env.NAPI_RS_NATIVE_LIBRARY_PATH = '/nonexistent/blake.node'; // napi-rs loads only this path
    process.env.CAIRN_BLAKE3 = 'native';
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const hashing = await import('../../src/hashing/index.js');
    expect(hashing.blake3Backends.native).toBeUndefined();
    expect(hashing.activeBlake3Backend()).toBe('wasm');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('did not load'), 'CairnWarning');
    warn.mockRestore();
    // BLAKE3 of the empty input, from the BLAKE3 specification.
    expect(Buffer.from(hashing.blake3(new Uint8Array(0))).toString('hex')).toBe(
      'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
    );
    expect(hashing.createBlake3().update(new Uint8Array(0)).digest(8)).toHaveLength(8);
  });
});
