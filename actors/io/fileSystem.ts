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
 *   because every turn moves at least one byte or fails.
 * - `nodeFileSystem`'s handles read through libuv's pool and write through the node's disk
 *   writer thread (diskWriter.ts says why). A handle's close waits for its writes in
 *   flight there, as FileHandle.close waits for its own operations, so a closed handle
 *   has no write still landing.
 */
import { constants } from "node:fs";
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { nodeDiskWriter, type DiskWriter } from "./diskWriter.js";
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
  open: async (path, flags, mode) => new ThreadWrittenFile(await open(path, flags, mode), path, nodeDiskWriter()),
  mkdir: (path, options) => mkdir(path, options),
};

/** A FileHandle whose writes go through the disk writer thread; everything else is the handle's. */
export class ThreadWrittenFile implements OpenFile {
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    private readonly writer: DiskWriter,
  ) {}

  async write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    const written = this.writer.write(this.path, buffer.subarray(offset, offset + length), position);
    this.writing.add(written);
    try {
      await written;
    } finally {
      this.writing.delete(written);
    }
    return { bytesWritten: length };
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return this.handle.read(buffer, offset, length, position);
  }

  stat(): Promise<{ size: number }> {
    return this.handle.stat();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.writing]);
    await this.handle.close();
  }
}

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

export async function writeFully(handle: OpenFile, path: string, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
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
