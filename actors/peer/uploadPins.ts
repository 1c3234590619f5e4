/**
 * How much read-ahead memory one link's unsent blocks keep alive, and whether the next read
 * is sent by reference or copied out.
 *
 * A block handed to the socket by reference pins the whole buffer it is a view of (a 256 KiB
 * read-ahead window) until the socket has written it. For a peer that asks for blocks in
 * order, the unsent bytes (at most OUTBOUND_HIGH_WATER) span a handful of windows. A peer
 * that asks for one block per window and does not read would pin a window per 16 KiB block,
 * 16x what it owes us. So each link has a pin budget: a read whose buffer is already pinned
 * by this link, or that fits in the budget, goes by reference; any other is copied out (only
 * the bytes of the read, at most one window) and its buffer released at once.
 *
 * Guarantees: what a link pins is at most the budget; a buffer is counted once however many
 * of the link's blocks refer to it, at its whole size (a small read in Node's shared 8 KiB
 * slab counts as the slab); every pin is undone exactly once.
 * Pins are undone from the socket's write callback, outside any actor turn: this ledger is
 * memory bookkeeping shared with that callback, like PeerSocket's flow-control counters,
 * and holds nothing else of the actor's state.
 */
import { OUTBOUND_HIGH_WATER } from "./socketIo.js";

/**
 * In-order uploads never reach it: the unsent bytes plus the reads in flight stay under
 * OUTBOUND_HIGH_WATER, which spans at most that many bytes of windows plus one on each end.
 */
export const UPLOAD_PIN_BUDGET = 2 * OUTBOUND_HIGH_WATER;

export type UploadMemoryPlan =
  | { readonly kind: "byReference"; readonly newlyPinned: number }
  | { readonly kind: "copy"; readonly pinnedBytes: number; readonly bufferBytes: number; readonly budget: number };

/** Pure: send by reference while the buffer is ours already or fits the budget; else copy. */
export function uploadMemoryPlan(pinnedBytes: number, bufferAlreadyPinned: number, bufferBytes: number, budget: number): UploadMemoryPlan {
  if (bufferAlreadyPinned > 0) return { kind: "byReference", newlyPinned: 0 };
  if (pinnedBytes + bufferBytes <= budget) return { kind: "byReference", newlyPinned: bufferBytes };
  return { kind: "copy", pinnedBytes, bufferBytes, budget };
}

export class UploadPins {
  /** Unsent reads of this link per underlying buffer. */
  private readonly reads = new Map<ArrayBufferLike, number>();
  private bytes = 0;

  constructor(readonly budget = UPLOAD_PIN_BUDGET) {}

  /** Bytes of the buffers this link's unsent blocks keep alive. */
  get pinnedBytes(): number {
    return this.bytes;
  }

  plan(data: Buffer): UploadMemoryPlan {
    return uploadMemoryPlan(this.bytes, this.reads.get(data.buffer) ?? 0, data.buffer.byteLength, this.budget);
  }

  /** Count `data`'s buffer as pinned by this link; the function returned undoes it (once). */
  pin(data: Buffer): () => void {
    const buffer = data.buffer;
    const reads = this.reads.get(buffer) ?? 0;
    if (reads === 0) this.bytes += buffer.byteLength;
    this.reads.set(buffer, reads + 1);
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      const left = (this.reads.get(buffer) ?? 1) - 1;
      if (left > 0) {
        this.reads.set(buffer, left);
        return;
      }
      this.reads.delete(buffer);
      this.bytes -= buffer.byteLength;
    };
  }
}
