/**
 * Buffers given back for reuse, bounded by bytes: piece_mgr's piece buffers
 * (actors/pieceMgr/assembly.ts) and the upload read-ahead's windows (actors/io/readAhead.ts).
 * Each is its own ArrayBuffer (pieceBuffer), so a Buffer's `.buffer` names it alone. A
 * buffer is given back only once nothing refers to it any more: that rule is the caller's.
 */
import { pieceBuffer } from "./hashPool.js";

/** Free buffers kept for reuse, at most this many bytes of them (default). */
export const POOL_BYTES = 16 * 1024 * 1024;

export class BufferPool {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  constructor(private readonly maxBytes = POOL_BYTES) {}

  /** A buffer of exactly `size` bytes (its contents are stale: every byte is overwritten before use). */
  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const buf = this.free[i] as Buffer;
      if (buf.length !== size) continue;
      this.free.splice(i, 1);
      this.freeBytes -= size;
      return buf;
    }
    return pieceBuffer(size);
  }

  /** `buf` is no longer referenced by anyone. */
  give(buf: Buffer): void {
    if (this.freeBytes + buf.length > this.maxBytes) return;
    this.free.push(buf);
    this.freeBytes += buf.length;
  }

  get heldBytes(): number {
    return this.freeBytes;
  }

  /** Buffers waiting for reuse. */
  get count(): number {
    return this.free.length;
  }
}
