/**
 * The few file operations the IO layer needs, behind an interface so tests can watch
 * (count handles) and hold (gate a write) real files; node:fs/promises by default.
 *
 * Guarantees of the helpers:
 * - `openSized` opens read-write, creating the file and its parent directories if
 *   missing, and extends a shorter file to `length` with ftruncate (sparse: no blocks are
 *   allocated). A longer file is left alone: truncating is irreversible and a longer file
 *   may be someone's data; only bytes [0, length) are ever read or written, and the hash
 *   check judges them. On a failure after the open, the handle is closed before the error
 *   propagates.
 * - `writeFully` / `readFully` loop on short transfers with positional IO (no shared file
 *   position, so concurrent ops on one handle are independent); each loop is bounded
 *   because every turn moves at least one byte or fails. A write goes to the kernel in
 *   calls of at most MAX_WRITE_CALL bytes (why: below).
 */
import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { NoProgressError, ShortReadError } from "./errors.js";

export interface OpenFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number }>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, flags: number, mode: number): Promise<OpenFile>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

export const nodeFileSystem: FileSystem = {
  open: (path, flags, mode) => open(path, flags, mode),
  mkdir: (path, options) => mkdir(path, options),
};

/** Read-write, created if missing; never O_APPEND (pwrite would ignore the position) nor O_TRUNC. */
const OPEN_FLAGS = constants.O_RDWR | constants.O_CREAT;
const FILE_MODE = 0o644;

export async function openSized(fs: FileSystem, path: string, length: number): Promise<OpenFile> {
  let handle: OpenFile;
  try {
    handle = await fs.open(path, OPEN_FLAGS, FILE_MODE);
  } catch (error) {
    if (!isCode(error, "ENOENT")) throw error;
    await fs.mkdir(dirname(path), { recursive: true });
    handle = await fs.open(path, OPEN_FLAGS, FILE_MODE);
  }
  try {
    const { size } = await handle.stat();
    if (size < length) await handle.truncate(length);
    return handle;
  } catch (error) {
    await handle.close().catch(() => undefined); // the first error is the one worth reporting
    throw error;
  }
}

/**
 * The most one write call hands the kernel. Linux sizes page-cache folios from the length of
 * the write, and a large folio needs a large free block of physical memory: on a VM whose
 * balloon reports free memory back to the host (virtio-balloon free page reporting, as on
 * this project's machines) those blocks are the host-reclaimed ones, and the copy into them
 * faults every page back in. Measured, writing 1 GiB after 12 s idle: 1 MiB writes cost
 * 1.6-2.2 CPU-s of sys time, 256 KiB ones 0.19-0.21, 64 KiB 0.20-0.33 (libtorrent writes
 * 16 KiB blocks). In bench:pair the downloader's sys time was ~2x libtorrent's for this.
 * The threshold moves with the host: at 17:50 the same test gave 16-32 KiB 0.25-0.28,
 * 64 KiB 1.27, 256 KiB 0.89-1.24, 1 MiB 2.09 (order <= 3 folios come from the per-CPU
 * lists, which stay warm). 32 KiB calls were tried then and left out: they steadied a 1 GiB
 * download (3.1-3.4 CPU-s against 3.1-5.1) but cost a 16-node swarm 10.1-13.7 CPU-s/GiB
 * against 7.3-8.0, each call being a promise and a thread-pool job. Writing small calls
 * cheaply needs one job to make many of them (a disk thread, as libtorrent has).
 */
export const MAX_WRITE_CALL = 256 * 1024;

export async function writeFully(handle: OpenFile, path: string, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, Math.min(MAX_WRITE_CALL, data.length - done), position + done);
    if (bytesWritten <= 0) throw new NoProgressError(path, position + done);
    done += bytesWritten;
  }
}

/** `into` (exactly `length` bytes) is read into and returned instead of a new buffer. */
export async function readFully(handle: OpenFile, path: string, length: number, position: number, into?: Buffer): Promise<Buffer> {
  const buffer = into ?? Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead <= 0) throw new ShortReadError(path, position, length, done);
    done += bytesRead;
  }
  return buffer;
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
