/**
 * `repair index`: rebuilds the repository's index segments from the packs' own headers, the
 * ground truth. New segments are written first (superseding every old one), old segments are
 * deleted only afterwards, and the local cache is rebuilt; so an interruption at any point leaves
 * a usable index. Packs whose header cannot be read are reported and left out.
 *
 * With `readData`, every pack is read whole and each blob it lists is authenticated and re-hashed;
 * a blob that fails is left out of the index (and reported). The next backup of that data then
 * stores it again, instead of deduplicating against the damaged copy, and every snapshot that
 * needs it can be restored again.
 */
import { CairnError, type ErrorCode, throwIfAborted } from '../errors.js';
import { fromHex, toHex } from '../format/bytes.js';
import type { PackEntry } from '../format/pack-header.js';
import { parsePackHeader, readPackHeader } from '../format/pack-reader.js';
import { type EventHandler, ProgressReporter } from '../progress.js';
import { DATA_PREFIX, INDEX_PREFIX, idFromName, indexName, packName } from '../repo/names.js';
import type { Repository } from '../repo/repository.js';
import { runPackCheck } from './pack-check.js';

/** Entries per new segment, at most (keeps each segment a few MiB). */
const SEGMENT_BLOBS = 100_000;

export interface RepairIndexSummary {
  packs: number;
  blobs: number;
  damagedPacks: { packId: string; code: string; message: string }[];
  /** With `readData`: blobs that failed to open, left out of the index (at most 1000 listed). */
  damagedBlobs: { packId: string; blobId: string; code: string; message: string }[];
  /** Count of damaged blobs (the list above stops at 1000). */
  damagedBlobCount: number;
  segmentsWritten: number;
  segmentsRemoved: number;
  /** Temporary files of killed writers removed from the store (see {@link STALE_TEMP_MS}). */
  temporaryFilesRemoved: number;
  durationMs: number;
}

/**
 * Age from which a store's temporary files count as left by a killed writer. Under the exclusive
 * lock no backup writes; only lock files and added keys are written without one, in well under this.
 */
const STALE_TEMP_MS = 15 * 60_000;

export async function repairIndex(
  repo: Repository,
  options: { readData?: boolean; signal?: AbortSignal; onEvent?: EventHandler } = {},
): Promise<RepairIndexSummary> {
  const signal = options.signal;
  const lock = await repo.lock({ exclusive: true, operation: 'repair index', ...(signal ? { signal } : {}) });
  const progress = new ProgressReporter('repair', options.onEvent);
  try {
    const oldSegments: string[] = [];
    for await (const obj of repo.store.list(INDEX_PREFIX, { signal })) {
      const id = idFromName(obj.name, INDEX_PREFIX);
      if (id) oldSegments.push(id);
    }
    const packs: { id: string; size: number }[] = [];
    for await (const obj of repo.store.list(DATA_PREFIX, { signal })) {
      const id = idFromName(obj.name, DATA_PREFIX);
      if (id) packs.push({ id, size: obj.size });
    }
    progress.filesTotal = packs.length;
    progress.totalsFinal = true;
    progress.start({ what: 'index', packs: packs.length, segments: oldSegments.length });

    const index = await repo.index(signal);
    const damagedPacks: RepairIndexSummary['damagedPacks'] = [];
    const damagedBlobs: RepairIndexSummary['damagedBlobs'] = [];
    let damagedBlobCount = 0;
    const written: string[] = [];
    let blobs = 0;
    let inSegment = 0;
    const supersedes = oldSegments.map((id) => fromHex(id));
    for (const pack of packs) {
      throwIfAborted(signal);
      let entries: PackEntry[];
      try {
        if (options.readData) {
          // verify's check of a pack: every blob opened and re-hashed.
          const bytes = await repo.store.get(packName(pack.id), { signal });
          const check = runPackCheck(repo.keys, { kind: 'check-pack', n: 0, buf: bytes, keepTreeBytes: 0 });
          const headerError = check.headerError;
          if (headerError) throw new CairnError(headerError.code as ErrorCode, headerError.message);
          for (const { id, code, message } of check.blobErrors) {
            damagedBlobCount++;
            if (damagedBlobs.length < 1000) damagedBlobs.push({ packId: pack.id, blobId: id, code, message });
            progress.error({ path: `${packName(pack.id)}: blob ${id}`, code, message });
          }
          const damaged = new Set(check.blobErrors.map((e) => e.id));
          entries = parsePackHeader(repo.keys.dataKey, bytes).filter((e) => !damaged.has(toHex(e.id)));
        } else {
          entries = await readPackHeader(
            repo.keys.dataKey,
            (offset, length) => repo.store.get(packName(pack.id), { offset, length, signal }),
            pack.size,
          );
        }
      } catch (err) {
        if ((err as CairnError).code === 'ABORTED') throw err;
        const e = err as CairnError;
        damagedPacks.push({ packId: pack.id, code: e.code ?? 'IO_ERROR', message: e.message });
        progress.error({ path: packName(pack.id), code: e.code ?? 'IO_ERROR', message: e.message });
        continue;
      }
      index.addPack(pack.id, entries);
      blobs += entries.length;
      inSegment += entries.length;
      progress.filesDone++;
      progress.bytesDone += pack.size;
      progress.tick();
      if (inSegment >= SEGMENT_BLOBS) {
        const saved = await index.savePending(signal, written.length === 0 ? supersedes : []);
        if (saved) written.push(saved.id);
        inSegment = 0;
      }
    }
    const last = await index.savePending(signal, written.length === 0 ? supersedes : []);
    if (last) written.push(last.id);

    // Superseded now, whether or not they can be deleted: a backup later in this session must
    // not merge them back.
    index.forgetSessionSegments(oldSegments.filter((id) => !written.includes(id)));
    let removed = 0;
    if (repo.store.capabilities.deletes) {
      for (const id of oldSegments) {
        if (written.includes(id)) continue;
        await repo.store.delete(indexName(id), { signal });
        removed++;
      }
    }
    // The cache now lists segments that are gone: sync rebuilds it from the new ones.
    await index.sync({ ...(signal ? { signal } : {}) });
    const temporaryFilesRemoved = (await repo.store.removeStaleTemporaryFiles?.(STALE_TEMP_MS)) ?? 0;
    const summary: RepairIndexSummary = {
      packs: packs.length - damagedPacks.length,
      blobs,
      damagedPacks,
      damagedBlobs,
      damagedBlobCount,
      segmentsWritten: written.length,
      segmentsRemoved: removed,
      temporaryFilesRemoved,
      durationMs: Date.now() - progress.started,
    };
    progress.summary({ ...summary });
    return summary;
  } finally {
    await lock.release();
  }
}
