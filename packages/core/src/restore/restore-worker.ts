/**
 * Worker-thread entry of restores (and of verify's pack checks): runs the jobs the main thread
 * posts (writer.ts, tree-open.ts, maintain/pack-check.ts), one after another, and answers each
 * with its result.
 * Built as its own bundle entry (`restore-worker.js`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BlobKeys } from '../format/blob.js';
import { type KeysMessage, type LentJob, type PostedResult, runPoolJob } from './writer-pool.js';

const port = parentPort;
if (!port) throw new Error('restore-worker must run in a worker thread');
// A thread started ahead (prestartWriterThreads) gets its keys in a message before any job.
let keys = workerData as BlobKeys | undefined;
port.on('message', (msg: LentJob | KeysMessage) => {
  if ('keys' in msg) {
    keys = msg.keys;
    return;
  }
  const job = msg;
  if (!keys) throw new Error('restore-worker: a job came before the keys');
  const result: PostedResult = runPoolJob(keys, job);
  // Tree bytes go back by transfer, not by copy; so does the job's buffer, for the next read.
  const transfer =
    'trees' in result
      ? result.trees.map((t) => t.raw.buffer as ArrayBuffer)
      : 'ends' in result
        ? [result.raw.buffer as ArrayBuffer]
        : [];
  if (job.lent && job.buf) {
    result.back = job.buf.buffer as ArrayBuffer;
    transfer.push(result.back);
  }
  port.postMessage(result, transfer);
});
// Loaded: jobs that should not wait for a starting thread may come here from now on.
port.postMessage({ ready: true });
