/**
 * Reads whole pieces of a payload from its files, each into a Buffer that owns its
 * whole ArrayBuffer (so the hash pool can take it without a copy). Guarantees:
 * - a piece is "read" only if every data byte of it came from disk; otherwise it is
 *   "missing", with the file and the reason (absent, not a regular file, too short) —
 *   never partly zero-filled;
 * - pad spans are zeros and never open a file;
 * - a file is opened once however many reads want it at the same time; its size is
 *   judged when it is opened (a later shrink shows up as a short read: missing too);
 * - several reads may run at once (the pipeline keeps two going: one read at a time
 *   leaves the hash workers waiting); a handle in use is never closed under a read, and
 *   idle handles beyond `maxOpenFiles` are closed least recently used first;
 * - an IO error other than "no such file" is thrown with the path, never hidden.
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
  | { readonly kind: "present"; readonly handle: FileHandle; readonly size: number };

/** One file's entry in the cache: the (possibly still running) open, and the reads using it. */
interface FileSlot {
  readonly state: Promise<FileState>;
  users: number;
}

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
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly slots = new Map<number, FileSlot>();

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

  /**
   * Reads piece `piece`. `reuse`, when its length is the piece's size, receives the
   * bytes instead of a new buffer (the pipeline recycles buffers the hash pool handed back).
   */
  async readPiece(piece: number, reuse?: Buffer): Promise<PieceRead> {
    const size = pieceSize(this.layout, piece);
    const spans = spansOfPiece(this.layout, piece);
    for (const span of spans) {
      if (span.kind === "pad") continue;
      const reason = await this.withFile(span.fileIndex, async (state) => missingReason(state, span.fileOffset + span.length));
      if (reason !== undefined) return { kind: "missing", piece, size, fileIndex: span.fileIndex, reason };
    }
    const data = reuse !== undefined && reuse.length === size ? reuse : pieceBuffer(size);
    for (const span of spans) {
      switch (span.kind) {
        case "pad":
          data.fill(0, span.pieceOffset, span.pieceOffset + span.length);
          break;
        case "data": {
          const complete = await this.withFile(span.fileIndex, (state) =>
            state.kind === "present" ? this.readFully(state.handle, span.fileIndex, data, span.pieceOffset, span.length, span.fileOffset) : Promise.resolve(false),
          );
          // The file shrank or vanished after we first looked at it.
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

  /** Closes every handle; call after the last read has settled. */
  async close(): Promise<void> {
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map(async (slot) => closeState(await slot.state.catch(() => undefined))));
  }

  private async readFully(handle: FileHandle, fileIndex: number, into: Buffer, at: number, length: number, position: number): Promise<boolean> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(into, at + done, length - done, position + done).catch((err: unknown) => {
        throw new PayloadReadError(this.pathOf(fileIndex), err);
      });
      if (bytesRead === 0) return false;
      done += bytesRead;
    }
    return true;
  }

  private async withFile<T>(fileIndex: number, use: (state: FileState) => Promise<T>): Promise<T> {
    let slot = this.slots.get(fileIndex);
    if (slot === undefined) {
      slot = { state: this.openFile(fileIndex), users: 0 };
    } else {
      this.slots.delete(fileIndex); // re-inserted below as the most recently used
    }
    this.slots.set(fileIndex, slot);
    slot.users++;
    try {
      return await use(await slot.state);
    } finally {
      slot.users--;
      await this.closeIdleBeyondLimit();
    }
  }

  private async openFile(fileIndex: number): Promise<FileState> {
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
    return { kind: "present", handle, size: stats.size };
  }

  private async closeIdleBeyondLimit(): Promise<void> {
    if (this.slots.size <= this.maxOpenFiles) return;
    const idle: FileSlot[] = [];
    for (const [fileIndex, slot] of this.slots) {
      if (this.slots.size <= this.maxOpenFiles) break;
      if (slot.users > 0) continue;
      this.slots.delete(fileIndex);
      idle.push(slot);
    }
    await Promise.all(idle.map(async (slot) => closeState(await slot.state.catch(() => undefined))));
  }

  private pathOf(fileIndex: number): string {
    const path = this.paths[fileIndex];
    if (path === undefined) throw new RangeError(`no path for file ${fileIndex}`);
    return path;
  }
}

async function closeState(state: FileState | undefined): Promise<void> {
  if (state?.kind === "present") await state.handle.close();
}

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
