/**
 * @cairn/store-disk: a Cairn Store on a local file system or NAS mount.
 */
export { DISK_STORE_CAPABILITIES, type DiskFileSystem, DiskStore, type DiskStoreOptions } from './disk-store.js';
