/**
 * Worker-thread entry of the content pipeline: runs a ContentProcessor on the files the main
 * thread sends, calling back for dedup lookups and handing over sealed blobs (transferred, not
 * copied). Built as its own bundle entry (`content-worker.js`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  ContentProcessor,
  type ContentSettings,
  describeError,
  READ_REPORT_BYTES,
  type SealedBatch,
} from './content-processor.js';
import type { FileOutcome, ToMain, ToWorker } from './content-protocol.js';

const port = parentPort;
if (!port) throw new Error('content-worker must run in a worker thread');

let seq = 0;
const waiting = new Map<number, (reply: Extract<ToWorker, { t: 'reply' }>) => void>();
const post = (msg: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
function call(msg: ToMain, transfer?: ArrayBuffer[]): Promise<Extract<ToWorker, { t: 'reply' }>> {
  return new Promise((resolve) => {
    waiting.set((msg as { req: number }).req, resolve);
    post(msg, transfer);
  });
}

/** Bytes read and not yet reported: sent every {@link READ_REPORT_BYTES}, the rest with job-done. */
let unreported = 0;
const processor = new ContentProcessor(workerData as ContentSettings, {
  lookup: async (ids) => (await call({ t: 'lookup', req: ++seq, ids }, [ids.buffer as ArrayBuffer])).need!,
  read: (bytes) => {
    unreported += bytes;
    if (unreported >= READ_REPORT_BYTES) {
      post({ t: 'read', bytes: unreported });
      unreported = 0;
    }
  },
  deliver: async (batch: SealedBatch) =>
    (
      await call({ t: 'deliver', req: ++seq, batch }, [
        batch.buffer,
        batch.ids.buffer as ArrayBuffer,
        batch.meta.buffer as ArrayBuffer,
      ])
    ).buffer,
});

/**
 * Ends a job: `work`, then every blob of it handed over and accepted; then one job-done with the
 * files' outcomes, the bytes read since the last report and the batch's failure, if any.
 */
async function endJob(job: number, files: FileOutcome[], work?: () => Promise<void>): Promise<void> {
  let error: { code: string; message: string } | undefined;
  try {
    await work?.();
    await processor.finishBatch();
  } catch (err) {
    await processor.discard();
    error = describeError(err);
  }
  const bytes = unreported;
  unreported = 0;
  post({ t: 'job-done', job, files, bytes, ...(error ? { error } : {}) });
}

let queue = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  if (msg.t === 'reply') {
    const resolve = waiting.get(msg.req);
    waiting.delete(msg.req);
    resolve?.(msg);
    return;
  }
  // Jobs run one after another; replies above interleave freely.
  if (msg.t === 'seal') {
    const { job, batch } = msg;
    queue = queue.then(() => endJob(job, [], () => processor.sealRaw(batch)));
    return;
  }
  queue = queue.then(async () => {
    const files: FileOutcome[] = [];
    for (const f of msg.files) {
      try {
        files.push({ result: await processor.processFile(f.path, { size: f.size, mtimeNs: BigInt(f.mtimeNs) }) });
      } catch (err) {
        files.push({ error: describeError(err) });
      }
    }
    await endJob(msg.job, files);
  });
});
