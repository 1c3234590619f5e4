/**
 * Reads whole pieces of a payload from its files, each into a fresh Buffer that owns its
 * ArrayBuffer (so the hash pool can take it without a copy). Guarantees:
 * - a piece is "read" only if every data byte of it came from disk; otherwise it is
 *   "missing", with the file and the reason (absent, not a regular file, too short) —
 *   never partly zero-filled;
 * - pad spans are zeros and never open a file;
 * - at most `maxOpenFiles` descriptors are open (least recently used closed first);
 * - an IO error other than "no such file" is thrown with the path, never hidden.
 * One read at a time: callers pipeline across pieces, not inside this source.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { PayloadLayout } from "./layout.js";
import { pieceSize, spansOfPiece } from "./layout.js";
import { pieceBuffer } from "./hashPool.js";

export type MissingReason = "absent" | "notAFile" | "short";

export type PieceRead =
  | { readonly kind: "read"; readonly piece: number; readonly data: Buffer }
  | { readonly kind: "missing"; readonly piece: number; readonly size: number; readonly fileIndex: number; readonly reason: MissingReason };

type FileState =
  | { readonly kind: "absent" }
  | { readonly kind: "notAFile" }
  | { readonly kind: "present"; readonly size: number };

export class PayloadReadError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "PayloadReadError";
  }
}

const ABSENT_CODES = new Set(["ENOENT", "ENOTDIR"]);

export class PieceSource {
  private readonly states = new Map<number, FileState>();
  private readonly handles = new Map<number, OpenFile>();
  private reading = false;

  /** `paths[i]` is where `layout.files[i]` lives on disk (unused for pad files). */
  constructor(
    readonly layout: PayloadLayout,
    private readonly paths: readonly string[],
    private readonly maxOpenFiles = 16,
  ) {
    if (paths.length !== layout.files.length) {
      throw new RangeError(`${paths.length} paths for ${layout.files.length} files`);
    }
  }

  async readPiece(piece: number): Promise<PieceRead> {
    if (this.reading) throw new Error("PieceSource reads one piece at a time");
    this.reading = true;
    try {
      return await this.readUnguarded(piece);
    } finally {
      this.reading = false;
    }
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((opened) => opened.handle.close()));
  }

  private async readUnguarded(piece: number): Promise<PieceRead> {
    const size = pieceSize(this.layout, piece);
    const spans = spansOfPiece(this.layout, piece);
    for (const span of spans) {
      if (span.kind === "pad") continue;
      const state = await this.stateOf(span.fileIndex);
      const reason = missingReason(state, span.fileOffset + span.length);
      if (reason !== undefined) return { kind: "missing", piece, size, fileIndex: span.fileIndex, reason };
    }
    const data = pieceBuffer(size);
    for (const span of spans) {
      switch (span.kind) {
        case "pad":
          data.fill(0, span.pieceOffset, span.pieceOffset + span.length);
          break;
        case "data": {
          const complete = await this.readFully(span.fileIndex, data, span.pieceOffset, span.length, span.fileOffset);
          // The file shrank after we looked at its size.
          if (!complete) return { kind: "missing", piece, size, fileIndex: span.fileIndex, reason: "short" };
          break;
        }
        default: {
          const never: never = span.kind;
          throw new Error(`unknown span kind ${String(never)}`);
        }
      }
    }
    return { kind: "read", piece, data };
  }

  private async readFully(fileIndex: number, into: Buffer, at: number, length: number, position: number): Promise<boolean> {
    const opened = await this.open(fileIndex);
    if (opened.kind !== "open") return false; // it vanished since we first saw it
    let done = 0;
    while (done < length) {
      const { bytesRead } = await opened.handle.read(into, at + done, length - done, position + done).catch((err: unknown) => {
        throw new PayloadReadError(this.pathOf(fileIndex), err);
      });
      if (bytesRead === 0) return false;
      done += bytesRead;
    }
    return true;
  }

  /** The state recorded when the file was first opened (later size changes show up as short reads). */
  private async stateOf(fileIndex: number): Promise<FileState> {
    const known = this.states.get(fileIndex);
    if (known !== undefined) return known;
    const opened = await this.open(fileIndex);
    const state: FileState = opened.kind === "open" ? { kind: "present", size: opened.size } : opened;
    this.states.set(fileIndex, state);
    return state;
  }

  /** Opens (or reuses) the file's handle. */
  private async open(fileIndex: number): Promise<OpenResult> {
    const cached = this.handles.get(fileIndex);
    if (cached !== undefined) {
      this.handles.delete(fileIndex);
      this.handles.set(fileIndex, cached); // most recently used last
      return cached;
    }
    const path = this.pathOf(fileIndex);
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      if (isErrno(err) && ABSENT_CODES.has(err.code)) return { kind: "absent" };
      throw new PayloadReadError(path, err);
    }
    const stats = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw new PayloadReadError(path, err);
    });
    if (!stats.isFile()) {
      await handle.close();
      return { kind: "notAFile" };
    }
    const opened: OpenFile = { kind: "open", handle, size: stats.size };
    this.handles.set(fileIndex, opened);
    await this.evictBeyondLimit();
    return opened;
  }

  private async evictBeyondLimit(): Promise<void> {
    while (this.handles.size > this.maxOpenFiles) {
      const oldest = this.handles.entries().next().value;
      if (oldest === undefined) return;
      this.handles.delete(oldest[0]);
      await oldest[1].handle.close();
    }
  }

  private pathOf(fileIndex: number): string {
    const path = this.paths[fileIndex];
    if (path === undefined) throw new RangeError(`no path for file ${fileIndex}`);
    return path;
  }
}

type OpenFile = { readonly kind: "open"; readonly handle: FileHandle; readonly size: number };
type OpenResult =
  | OpenFile
  | { readonly kind: "absent" }
  | { readonly kind: "notAFile" };

function missingReason(state: FileState, bytesNeeded: number): MissingReason | undefined {
  switch (state.kind) {
    case "absent":
      return "absent";
    case "notAFile":
      return "notAFile";
    case "present":
      return state.size < bytesNeeded ? "short" : undefined;
    default: {
      const never: never = state;
      throw new Error(`unknown file state ${JSON.stringify(never)}`);
    }
  }
}

function isErrno(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string";
}
