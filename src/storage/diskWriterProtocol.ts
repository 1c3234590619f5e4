/** The messages between the disk writer (actors/io/diskWriter.ts) and its thread. */

/**
 * The most one write call hands the kernel. Linux sizes page-cache folios from a write's
 * length; a folio above order 3 (32 KiB) comes from the buddy allocator's large free
 * blocks, which on a VM with free page reporting (this project's machines) are the ones
 * the host took back, so the copy into them faults every page in again. Measured
 * (256 MiB files written one after another after dropping the page cache, 2-core VM):
 * 256 KiB calls 0.4-0.5 CPU-s/GiB for the first file, then 3.0-4.6; 16 KiB calls from this
 * thread 0.56-0.68 for every file. libtorrent writes 16 KiB blocks too.
 */
export const DISK_WRITE_CALL = 16 * 1024;

export interface DiskWriteJob {
  readonly id: number;
  readonly path: string;
  /** Shared, not copied: the thread writes straight from the caller's memory. */
  readonly memory: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
  /** Byte position in the file. */
  readonly position: number;
}

export type DiskWriteAnswer =
  | { readonly id: number; readonly kind: "written" }
  | { readonly id: number; readonly kind: "failed"; readonly message: string; readonly code?: string };
