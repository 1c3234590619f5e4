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
 */
import { runtimeOf, type IoCaller } from "./caller.js";
import { pieceSize, type PayloadLayout } from "../../src/storage/layout.js";

export interface WindowSource {
  readBlock(via: IoCaller, piece: number, begin: number, length: number): Promise<Buffer>;
}

export const READ_AHEAD_WINDOW = 256 * 1024;
export const READ_AHEAD_MAX_BYTES = 16 * 1024 * 1024;

export class ReadAhead {
  private readonly windows = new Map<string, Promise<Buffer>>();
  private readonly sizes = new Map<string, number>();
  private heldBytes = 0;

  constructor(
    private readonly layout: PayloadLayout,
    private readonly source: WindowSource,
    private readonly windowBytes = READ_AHEAD_WINDOW,
    private readonly maxBytes = READ_AHEAD_MAX_BYTES,
  ) {}

  async readBlock(via: IoCaller, piece: number, begin: number, length: number): Promise<Buffer> {
    const size = pieceSize(this.layout, piece);
    const start = Math.floor(begin / this.windowBytes) * this.windowBytes;
    if (begin + length > start + this.windowBytes) return this.source.readBlock(via, piece, begin, length); // an odd request: read it as asked
    const key = `${piece}:${start}`;
    let window = this.windows.get(key);
    if (window === undefined) {
      const windowLength = Math.min(this.windowBytes, size - start);
      const runtime = runtimeOf(via);
      // After a microtask hop no actor's turn is running, so the call is nobody's.
      window = Promise.resolve().then(() => this.source.readBlock(runtime, piece, start, windowLength));
      this.remember(key, window, windowLength);
    } else {
      // Move to the back: recently used windows are dropped last.
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    const data = await window;
    return data.subarray(begin - start, begin - start + length);
  }

  get cachedBytes(): number {
    return this.heldBytes;
  }

  private remember(key: string, window: Promise<Buffer>, bytes: number): void {
    this.windows.set(key, window);
    this.sizes.set(key, bytes);
    this.heldBytes += bytes;
    window.catch(() => this.forget(key, window));
    for (const oldest of this.windows.keys()) {
      if (this.heldBytes <= this.maxBytes || oldest === key) break;
      this.forget(oldest, this.windows.get(oldest));
    }
  }

  private forget(key: string, window: Promise<Buffer> | undefined): void {
    if (window === undefined || this.windows.get(key) !== window) return;
    this.windows.delete(key);
    this.heldBytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}
