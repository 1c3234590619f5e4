/**
 * One worker's budgeted file handle: a lease on the node's fd budget plus the handle it
 * covers. The worker adopts it, so `destroy` runs when the worker exits for any reason.
 *
 * Guarantees:
 * - The lease is held whenever a descriptor is open or being opened/closed, and released
 *   only after the close returned (FileHandle.close waits for the operations in flight).
 * - After `destroy`, nothing stays open or held: a waiting request is withdrawn; an open
 *   handle is closed; a handle still being opened is closed as soon as the open returns.
 * - A new handle on a path is opened only after every earlier close on that path (in this
 *   node) returned. FileHandle.close waits for the handle's operations in flight, so a
 *   killed worker's writes have all returned before its restarted successor writes: the
 *   two never race on the same bytes, and the caller may reuse a buffer once the retried
 *   write resolved.
 * - The worker decides when to open and close (its mailbox orders those decisions); this
 *   object only keeps the handle and the lease consistent across asynchronous gaps.
 */
import type { FdBudget, IdleVerdict } from "./fdBudget.js";
import { Lease } from "./fdBudget.js";
import { openSized, type FileSystem, type OpenFile } from "./fileSystem.js";

type SlotPhase = "closed" | "opening" | "open" | "closing";

/** The worker exited while its open was in flight; the handle was closed again. */
export class SlotDestroyedError extends Error {
  constructor(readonly path: string) {
    super(`${path}: the file slot was destroyed while opening`);
    this.name = "SlotDestroyedError";
  }
}

/** Closes in progress, by budget (one per node) and path. */
const closing = new WeakMap<FdBudget, Map<string, Promise<void>>>();

function closesOf(budget: FdBudget): Map<string, Promise<void>> {
  let map = closing.get(budget);
  if (map === undefined) closing.set(budget, (map = new Map()));
  return map;
}

export class FileSlot {
  private readonly lease: Lease;
  private handle: OpenFile | undefined = undefined;
  private phase: SlotPhase = "closed";
  private destroyed = false;

  constructor(
    private readonly budget: FdBudget,
    private readonly fs: FileSystem,
    readonly path: string,
    readonly length: number,
    /** Called when the budget wants this slot back (relay it into the owner's mailbox). */
    onYield: () => void,
  ) {
    this.lease = new Lease(onYield);
  }

  get yieldRequested(): boolean {
    return this.lease.yieldRequested;
  }

  /** Waits for a slot, then opens (creating and extending the file; see openSized). */
  async open(): Promise<OpenFile> {
    if (this.destroyed) throw new SlotDestroyedError(this.path);
    if (this.phase !== "closed") throw new Error(`${this.path}: open while ${this.phase}`);
    this.phase = "opening";
    // Bounded: each earlier close is one FileHandle.close (a hung disk hangs it, and the
    // worker's start timeout or the caller's call timeout speaks).
    for (let earlier = closesOf(this.budget).get(this.path); earlier !== undefined; earlier = closesOf(this.budget).get(this.path)) {
      await earlier;
    }
    if (this.destroyed) {
      this.phase = "closed";
      throw new SlotDestroyedError(this.path);
    }
    await this.budget.acquire(this.lease);
    if (this.destroyed) {
      this.phase = "closed";
      this.budget.release(this.lease);
      throw new SlotDestroyedError(this.path);
    }
    let handle: OpenFile;
    try {
      handle = await openSized(this.fs, this.path, this.length);
    } catch (error) {
      this.phase = "closed";
      this.budget.release(this.lease);
      throw error;
    }
    if (this.destroyed) {
      this.handle = handle;
      await this.close();
      throw new SlotDestroyedError(this.path);
    }
    this.handle = handle;
    this.phase = "open";
    return handle;
  }

  /** Closes the handle (after its in-flight operations) and gives the slot back. */
  async close(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    this.phase = "closing";
    const closes = closesOf(this.budget);
    const done = handle.close();
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    closes.set(this.path, settled);
    void settled.then(() => {
      if (closes.get(this.path) === settled) closes.delete(this.path);
    });
    try {
      await done;
    } finally {
      this.phase = "closed";
      this.budget.release(this.lease);
    }
  }

  markBusy(): void {
    this.budget.markBusy(this.lease);
  }

  markIdle(): IdleVerdict {
    return this.budget.markIdle(this.lease);
  }

  /** The owner exited: release everything (idempotent). Returns the close, for error reports. */
  destroy(): Promise<void> | undefined {
    if (this.destroyed) return undefined;
    this.destroyed = true;
    this.budget.cancel(this.lease);
    this.budget.markBusy(this.lease);
    // "opening": open() sees `destroyed` when its open returns and closes there.
    return this.phase === "open" ? this.close() : undefined;
  }
}
