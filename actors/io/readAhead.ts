/**
 * Read-ahead for uploads: peers ask for 16 KiB blocks, mostly in order within a piece, and
 * one positional read per block cost a seed ~45 % of its main thread (bench:pair profile:
 * 65,536 promise reads per GiB). This reads a window of up to 256 KiB around the block
 * once and serves the window's blocks from memory to every peer of the torrent.
 *
 * - Only pieces we have are ever read for uploads (the peer's analyzer refuses the rest),
 *   and a piece we have never changes, so a cached window never goes stale.
 * - Bounded: at most `maxBytes` of windows are kept (oldest dropped first).
 * - Concurrent asks for one window share one read; a failed read is forgotten, so the next
 *   ask reads again (TorrentIo already retried it through a file_io restart).
 * - A shared read is made on the node's runtime and outside the asking peer's turn: a call
 *   made in an actor's turn (even rt.call) belongs to that actor and is abandoned when it
 *   exits, and the other peers waiting on the same window would wait forever.
 * - Blocks are 16 KiB-aligned and windows a multiple of 16 KiB, so no block straddles two.
 *
 * Full-size windows are read into buffers this reader reuses, because allocating a fresh
 * 256 KiB buffer per window made V8 collect garbage for the churn of external memory: a
 * seed uploading 1 GiB ran 26-27 full mark-compacts (~13 % of its CPU) with a 9 MB heap;
 * with reused buffers, 1 (`node --trace-gc`, bench:pair's 1 GiB). A reused buffer must not
 * be overwritten while anyone still reads it, so:
 * - every block `readBlock` hands out pins its window until the caller gives that very block
 *   back with `release` (the peer does once the socket has written it); releasing it twice,
 *   or releasing anything else, does nothing. A block never released (its peer exited with
 *   the read in flight) keeps its buffer out of reuse: the buffer is then garbage like any
 *   other once nothing refers to it, so a lost release costs an allocation, never bytes;
 * - a window's buffer is reused only when the window has left the cache and nothing pins
 *   it; a buffer whose read failed or was retried is never reused (an abandoned attempt may
 *   still land in it).
 */
import { runtimeOf, type IoCaller } from "./caller.js";
import { BufferPool } from "../../src/storage/bufferPool.js";
import { pieceSize, type PayloadLayout } from "../../src/storage/layout.js";

export interface WindowSource {
  /** `into` (exactly `length` bytes), when given, is where the bytes go and what resolves. */
  readBlock(via: IoCaller, piece: number, begin: number, length: number, into?: Buffer): Promise<Buffer>;
}

export const READ_AHEAD_WINDOW = 256 * 1024;
export const READ_AHEAD_MAX_BYTES = 16 * 1024 * 1024;

interface Window {
  readonly key: string;
  readonly bytes: number;
  readonly read: Promise<Buffer>;
  /** The reusable buffer the window is read into (full-size windows whose source honoured `into`). */
  buffer: Buffer | undefined;
  /** Blocks handed out and not released, plus asks still waiting for the read. */
  pins: number;
  cached: boolean;
  /** The read failed: its buffer is never reused. */
  failed: boolean;
}

export class ReadAhead {
  private readonly windows = new Map<string, Window>();
  /** The window each handed-out block pins (weak: a block nobody releases pins nothing once it is garbage). */
  private readonly pinnedBy = new WeakMap<Buffer, Window>();
  /** Window buffers given back, at most maxBytes of them. */
  private readonly free: BufferPool;
  private heldBytes = 0;

  constructor(
    private readonly layout: PayloadLayout,
    private readonly source: WindowSource,
    private readonly windowBytes = READ_AHEAD_WINDOW,
    private readonly maxBytes = READ_AHEAD_MAX_BYTES,
  ) {
    this.free = new BufferPool(maxBytes);
  }

  /** The block's bytes; give them back with `release` once nobody reads them any more. */
  async readBlock(via: IoCaller, piece: number, begin: number, length: number): Promise<Buffer> {
    const size = pieceSize(this.layout, piece);
    const start = Math.floor(begin / this.windowBytes) * this.windowBytes;
    if (begin + length > start + this.windowBytes) return this.source.readBlock(via, piece, begin, length); // an odd request: read it as asked
    const key = `${piece}:${start}`;
    let window = this.windows.get(key);
    if (window === undefined) {
      window = this.startRead(via, piece, start, Math.min(this.windowBytes, size - start), key);
    } else {
      // Move to the back: recently used windows are dropped last.
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.pins++;
    let data: Buffer;
    try {
      data = await window.read;
    } catch (error) {
      this.unpin(window);
      throw error;
    }
    const block = data.subarray(begin - start, begin - start + length);
    if (window.buffer !== undefined && data.buffer === window.buffer.buffer) this.pinnedBy.set(block, window);
    else this.unpin(window); // not our buffer: nothing to hold back from reuse
    return block;
  }

  /** Gives back a block `readBlock` returned; a second release of it, or of anything else, does nothing. */
  release(block: Buffer): void {
    const window = this.pinnedBy.get(block);
    if (window === undefined) return;
    this.pinnedBy.delete(block);
    this.unpin(window);
  }

  get cachedBytes(): number {
    return this.heldBytes;
  }

  /** Buffers waiting for reuse. */
  get freeBuffers(): number {
    return this.free.count;
  }

  private startRead(via: IoCaller, piece: number, start: number, length: number, key: string): Window {
    const buffer = length === this.windowBytes ? this.free.take(length) : undefined;
    const runtime = runtimeOf(via);
    // After a microtask hop no actor's turn is running, so the call is nobody's.
    const read = Promise.resolve().then(() => this.source.readBlock(runtime, piece, start, length, buffer));
    const window: Window = { key, bytes: length, read, buffer, pins: 0, cached: true, failed: false };
    read.then(
      (data) => {
        // A source that answered with bytes of its own (one that ignores `into`, or
        // TorrentIo after a retried read): the blocks are not in our buffer, and a read may
        // still land in it, so it is dropped, never reused.
        if (buffer === undefined || data.buffer === buffer.buffer) return;
        window.buffer = undefined;
      },
      () => {
        window.failed = true;
        this.evict(window);
      },
    );
    this.windows.set(key, window);
    this.heldBytes += length;
    for (const oldest of this.windows.values()) {
      if (this.heldBytes <= this.maxBytes || oldest === window) break;
      this.evict(oldest);
    }
    return window;
  }

  private evict(window: Window): void {
    if (!window.cached) return;
    window.cached = false;
    this.windows.delete(window.key);
    this.heldBytes -= window.bytes;
    this.recycleIfIdle(window);
  }

  private unpin(window: Window): void {
    if (window.pins > 0) window.pins--;
    this.recycleIfIdle(window);
  }

  private recycleIfIdle(window: Window): void {
    const buffer = window.buffer;
    if (window.cached || window.pins > 0 || buffer === undefined) return;
    window.buffer = undefined; // recycled once only
    if (!window.failed) this.free.give(buffer);
  }
}
