/**
 * A piece read and hashed where it is hashed: the bulk path of create, verify and
 * recheck. The main thread sends a hash worker only the piece's spans (paths and
 * offsets); the worker reads them with blocking reads into one scratch buffer of its
 * own and hashes the bytes while they are still in its core's cache.
 *
 * Why not read on the main thread and transfer the buffer (the download path's way):
 * measured on this 2-core machine with 1 GiB in the page cache, that costs ~1.0-1.2 s
 * of CPU against ~0.75 s here — SHA-1 of bytes another core just copied runs at
 * ~1.2 GB/s, of bytes this core just read at ~2.1 GB/s, and the main thread's copy is
 * saved — so the pool finished in ~0.6 s instead of ~0.43 s (bench/hash.ts compares both).
 *
 * Same verdicts as PieceSource: "missing" when any data byte is not on disk (absent,
 * not a regular file, too short, shrank while read); IO errors other than "no such
 * file" come back as "failed" with the path (an Error would lose its class crossing
 * the thread boundary). Pieces travel in batches (one message per ~2 MiB: with 32 KiB
 * pieces a message per piece cost more than the hashing); files are opened once per
 * batch and closed before it returns, so a long-lived worker never holds a stale
 * descriptor.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { PayloadLayout } from "./layout.js";
import { pieceSize, spansOfPiece } from "./layout.js";
import type { MissingReason } from "./pieceSource.js";

export interface FilePieceTask {
  readonly piece: number;
  readonly size: number;
  readonly reads: readonly {
    readonly fileIndex: number;
    readonly path: string;
    readonly fileOffset: number;
    readonly pieceOffset: number;
    readonly length: number;
  }[];
  /** Pad-file spans: zeros. */
  readonly zeros: readonly { readonly pieceOffset: number; readonly length: number }[];
}

export type FilePieceResult<Digest = Buffer> =
  | { readonly kind: "hashed"; readonly digest: Digest }
  | { readonly kind: "missing"; readonly fileIndex: number; readonly reason: MissingReason }
  | { readonly kind: "failed"; readonly path: string; readonly message: string };

/** Pure: what a worker needs to read piece `piece` from the files at `paths`. */
export function filePieceTask(layout: PayloadLayout, paths: readonly string[], piece: number): FilePieceTask {
  const reads: FilePieceTask["reads"][number][] = [];
  const zeros: FilePieceTask["zeros"][number][] = [];
  for (const span of spansOfPiece(layout, piece)) {
    switch (span.kind) {
      case "pad":
        zeros.push({ pieceOffset: span.pieceOffset, length: span.length });
        break;
      case "data": {
        const path = paths[span.fileIndex];
        if (path === undefined) throw new RangeError(`no path for file ${span.fileIndex}`);
        reads.push({ fileIndex: span.fileIndex, path, fileOffset: span.fileOffset, pieceOffset: span.pieceOffset, length: span.length });
        break;
      }
      default: {
        const never: never = span.kind;
        throw new Error(`unknown span kind ${String(never)}`);
      }
    }
  }
  return { piece, size: pieceSize(layout, piece), reads, zeros };
}

/**
 * Reads and hashes a batch of pieces with blocking IO (a worker's, or the inline
 * hasher's), one after the other in `scratch`. Each file is opened once per batch and
 * every descriptor is closed before returning.
 */
export function hashFilePiecesSync(tasks: readonly FilePieceTask[], scratch: Buffer): FilePieceResult[] {
  const files = new Map<string, OpenedFile>();
  try {
    return tasks.map((task) => hashOne(task, scratch, files));
  } finally {
    for (const file of files.values()) if (file.kind === "open") closeSync(file.fd);
  }
}

/** A batch hasher that owns one scratch buffer, grown to the largest piece it has seen. */
export function filePieceHasher(): (tasks: readonly FilePieceTask[]) => FilePieceResult[] {
  let scratch = Buffer.allocUnsafeSlow(0);
  return (tasks) => {
    const largest = tasks.reduce((max, task) => Math.max(max, task.size), 0);
    if (scratch.length < largest) scratch = Buffer.allocUnsafeSlow(largest);
    return hashFilePiecesSync(tasks, scratch);
  };
}

type OpenedFile =
  | { readonly kind: "open"; readonly fd: number; readonly size: number }
  | { readonly kind: "missing"; readonly reason: MissingReason }
  | { readonly kind: "failed"; readonly message: string };

function hashOne(task: FilePieceTask, scratch: Buffer, files: Map<string, OpenedFile>): FilePieceResult {
  if (scratch.length < task.size) throw new RangeError(`scratch buffer of ${scratch.length} bytes for a piece of ${task.size}`);
  const bytes = scratch.subarray(0, task.size);
  for (const zero of task.zeros) bytes.fill(0, zero.pieceOffset, zero.pieceOffset + zero.length);
  for (const read of task.reads) {
    let file = files.get(read.path);
    if (file === undefined) {
      file = openForReading(read.path);
      files.set(read.path, file);
    }
    const problem = readSpanSync(file, read, bytes);
    if (problem !== undefined) return problem;
  }
  return { kind: "hashed", digest: createHash("sha1").update(bytes).digest() };
}

const ABSENT_CODES = new Set(["ENOENT", "ENOTDIR"]);

function openForReading(path: string): OpenedFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
    if (code !== undefined && ABSENT_CODES.has(code)) return { kind: "missing", reason: "absent" };
    return { kind: "failed", message: messageOf(err) };
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isFile()) return { kind: "open", fd, size: stats.size };
    closeSync(fd);
    return { kind: "missing", reason: "notAFile" };
  } catch (err) {
    closeSync(fd);
    return { kind: "failed", message: messageOf(err) };
  }
}

function readSpanSync(file: OpenedFile, read: FilePieceTask["reads"][number], into: Buffer): FilePieceResult | undefined {
  switch (file.kind) {
    case "missing":
      return { kind: "missing", fileIndex: read.fileIndex, reason: file.reason };
    case "failed":
      return { kind: "failed", path: read.path, message: file.message };
    case "open":
      break;
    default: {
      const never: never = file;
      throw new Error(`unknown file state ${JSON.stringify(never)}`);
    }
  }
  if (file.size < read.fileOffset + read.length) return { kind: "missing", fileIndex: read.fileIndex, reason: "short" };
  let done = 0;
  try {
    while (done < read.length) {
      const got = readSync(file.fd, into, read.pieceOffset + done, read.length - done, read.fileOffset + done);
      if (got === 0) return { kind: "missing", fileIndex: read.fileIndex, reason: "short" }; // it shrank meanwhile
      done += got;
    }
  } catch (err) {
    return { kind: "failed", path: read.path, message: messageOf(err) };
  }
  return undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
