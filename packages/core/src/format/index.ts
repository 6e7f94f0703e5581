/** Public exports of format/: blobs and packs (byte-exact format in docs/format.md). */
export {
  BLOB_ID_LENGTH,
  BLOB_OVERHEAD,
  type BlobKeys,
  type BlobMeta,
  type BlobType,
  blobId,
  encodeBlob,
  MAX_BLOB_RAW_LENGTH,
  openBlob,
  type SealedBlob,
  sealBlob,
} from './blob.js';
export { fromHex, toHex } from './bytes.js';
export { PACK_TRAILER_LENGTH, type PackEntry } from './pack-header.js';
export {
  assertPackId,
  packId,
  packMatchesId,
  parsePackHeader,
  type RangeReader,
  readPackBlob,
  readPackHeader,
} from './pack-reader.js';
export { type FinishedPack, PackWriter } from './pack-writer.js';
export {
  BACKUP_KINDS,
  type BackupKind,
  type BackupStats,
  DATA_CLASSES,
  type DataClass,
  type Snapshot,
  type SnapshotDoc,
  type SnapshotError,
} from './snapshot.js';
export { type NodeType, nodeName, type Tree, type TreeNode } from './tree.js';
