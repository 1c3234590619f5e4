/**
 * The node-wide budget of open file handles, shared by every file-IO worker of a runtime,
 * so a node can seed thousands of files with a bounded number of descriptors (etorrent's
 * fs janitor, as a lease table).
 *
 * Guarantees:
 * - At most `limit` leases hold a slot at once. A slot is held from its grant (before the
 *   open) until `release` (after the close returned), so open descriptors <= limit.
 * - Requests that cannot be granted wait in FIFO order and are granted as slots return.
 * - For every waiter, one holder is asked to give its slot back: the least recently idle
 *   one at once, or else the next one to become idle (busy holders finish their in-flight
 *   operations first). A holder asked to yield starts nothing new, closes, and queues
 *   again behind the waiters, so a busy file cannot starve the others.
 * - Everything is synchronous bookkeeping in one thread; a dead owner's lease is cancelled
 *   or released by the owner's adopted FileSlot, so no slot leaks with a killed worker.
 */
import type { Runtime } from "../../src/runtime/index.js";

export const DEFAULT_FD_BUDGET = 256;

export type LeaseStatus = "free" | "waiting" | "held";

/** Whether an idle holder may keep its handle open or must give the slot back now. */
export type IdleVerdict = "keep" | "yield";

export class Lease {
  /** @internal */ status: LeaseStatus = "free";
  /** @internal */ yieldAsked = false;
  /** @internal */ grant: (() => void) | undefined = undefined;

  /** onYield: the budget asks this (idle) holder to close; it must not re-enter the budget synchronously. */
  constructor(readonly onYield: () => void) {}

  get state(): LeaseStatus {
    return this.status;
  }

  get yieldRequested(): boolean {
    return this.yieldAsked;
  }
}

export class FdBudget {
  private used = 0;
  private peak = 0;
  /** FIFO: a Set keeps insertion order and removes a cancelled waiter in O(1). */
  private readonly waiting = new Set<Lease>();
  /** Holders with nothing in flight, least recently idle first. */
  private readonly idle = new Set<Lease>();
  /** Holders asked to yield whose slot has not come back yet. */
  private asked = 0;

  constructor(readonly limit: number = DEFAULT_FD_BUDGET) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`fd budget must be a positive integer, got ${limit}`);
  }

  get inUse(): number {
    return this.used;
  }

  /** The most slots ever held at once. */
  get highWater(): number {
    return this.peak;
  }

  get waiters(): number {
    return this.waiting.size;
  }

  /** Resolves once the lease holds a slot; never settles if the lease is cancelled first. */
  acquire(lease: Lease): Promise<void> {
    if (lease.status !== "free") return Promise.reject(new Error(`acquire: lease is already ${lease.status}`));
    if (this.used < this.limit) {
      this.take(lease);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      lease.status = "waiting";
      lease.grant = resolve;
      this.waiting.add(lease);
      this.askIdleHolders();
    });
  }

  /** Gives a held slot back (call after the handle's close returned). */
  release(lease: Lease): void {
    if (lease.status !== "held") return;
    this.used--;
    lease.status = "free";
    this.idle.delete(lease);
    if (lease.yieldAsked) {
      lease.yieldAsked = false;
      this.asked--;
    }
    this.grantNext();
  }

  /** Withdraws a waiting request (its owner died); a no-op for other states. */
  cancel(lease: Lease): void {
    if (lease.status !== "waiting") return;
    this.waiting.delete(lease);
    lease.status = "free";
    lease.grant = undefined;
  }

  /** The holder started an operation: it cannot be asked to close right now. */
  markBusy(lease: Lease): void {
    this.idle.delete(lease);
  }

  /** The holder has nothing in flight: "yield" if someone waits for its slot. */
  markIdle(lease: Lease): IdleVerdict {
    if (lease.status !== "held") return "keep";
    if (lease.yieldAsked) return "yield";
    if (this.waiting.size > this.asked) {
      this.ask(lease);
      return "yield";
    }
    if (!this.idle.has(lease)) this.idle.add(lease);
    return "keep";
  }

  private take(lease: Lease): void {
    lease.status = "held";
    this.used++;
    if (this.used > this.peak) this.peak = this.used;
  }

  private grantNext(): void {
    for (const next of this.waiting) {
      if (this.used >= this.limit) return;
      this.waiting.delete(next);
      const grant = next.grant;
      next.grant = undefined;
      this.take(next);
      grant?.();
    }
  }

  private askIdleHolders(): void {
    for (const holder of this.idle) {
      if (this.asked >= this.waiting.size) return;
      this.idle.delete(holder);
      this.ask(holder);
      holder.onYield();
    }
  }

  private ask(lease: Lease): void {
    lease.yieldAsked = true;
    this.asked++;
  }
}

const budgets = new WeakMap<Runtime, FdBudget>();

/** The budget shared by the file-IO workers of one runtime (node), created on first use. */
export function nodeFdBudget(runtime: Runtime, limit: number = DEFAULT_FD_BUDGET): FdBudget {
  let budget = budgets.get(runtime);
  if (budget === undefined) {
    budget = new FdBudget(limit);
    budgets.set(runtime, budget);
  }
  return budget;
}
