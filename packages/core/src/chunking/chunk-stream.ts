/**
 * `chunkStream`: FastCDC 2020 over an (async) iterable of byte pieces, for callers that do not
 * manage buffers. Built on {@link FastCdcChunker}; yields exactly the chunks `fastcdc()` gives for the
 * concatenated bytes, whatever the piece sizes (including empty pieces), and every yielded `data`
 * is the chunk's own copy, valid forever.
 */
import { throwIfAborted } from '../errors.js';
import { FastCdcChunker, type FastCdcChunkerOptions } from './chunker.js';
import type { FastCdcCut } from './fastcdc.js';

/** Options of {@link chunkStream}. */
export interface ChunkStreamOptions extends FastCdcChunkerOptions {
  /** Cancels the iteration: the next step throws `CairnError('ABORTED')`. */
  signal?: AbortSignal;
}

/** A chunk from {@link chunkStream}: its place in the stream, its cut hash and a copy of its bytes. */
export interface StreamChunk extends FastCdcCut {
  /** The chunk's bytes (a fresh copy owned by the consumer). */
  data: Uint8Array;
}

/**
 * Splits a stream of byte pieces into FastCDC 2020 chunks.
 *
 * Options are validated immediately (not at the first iteration). The signal is checked before
 * reading each piece and before yielding each chunk; when the source is abandoned (abort, error or
 * `break`), its iterator is closed.
 *
 * @throws CairnError `INVALID_ARGUMENT` (synchronously) for bad options; `ABORTED` during iteration.
 */
export function chunkStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ChunkStreamOptions,
): AsyncIterable<StreamChunk> {
  const chunker = new FastCdcChunker(options);
  return run(source, chunker, options.signal);
}

async function* run(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunker: FastCdcChunker,
  signal: AbortSignal | undefined,
): AsyncGenerator<StreamChunk> {
  throwIfAborted(signal);
  for await (const piece of source) {
    throwIfAborted(signal);
    let off = 0;
    while (off < piece.length) {
      off += chunker.write(off === 0 ? piece : piece.subarray(off));
      // Copies are taken before the next write, which may move the buffered bytes.
      for (let c = chunker.next(); c; c = chunker.next()) {
        throwIfAborted(signal);
        yield { offset: c.offset, length: c.length, hash: c.hash, data: c.data.slice() };
      }
    }
  }
  chunker.finish();
  for (let c = chunker.next(); c; c = chunker.next()) {
    throwIfAborted(signal);
    yield { offset: c.offset, length: c.length, hash: c.hash, data: c.data.slice() };
  }
}
