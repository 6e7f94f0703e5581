/**
 * Worker-thread entry of restores: runs the jobs the main thread posts (writer.ts), one after
 * another, and answers each with its result. Built as its own bundle entry (`restore-worker.js`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BlobKeys } from '../format/blob.js';
import { runJob, type WireJob } from './writer.js';

const port = parentPort;
if (!port) throw new Error('restore-worker must run in a worker thread');
const keys = workerData as BlobKeys;
port.on('message', (job: WireJob) => port.postMessage(runJob(keys, job)));
