/**
 * Injectable time. Every timer of the runtime (sendAfter, call and start timeouts, shutdown
 * timeouts, restart-intensity windows, crash-report rate limiting, xstate delays) goes
 * through a Clock, so tests and seeded chaos replays run on a ManualClock without sleeping.
 */
import { performance } from "node:perf_hooks";

/** An opaque handle returned by setTimer. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  now(): number;
  /** Runs fn once after ms (>= 0; Infinity never fires). */
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Lets a timer not keep the process alive (house-keeping timers such as log summaries). */
  unref?(handle: TimerHandle): void;
}

const MAX_NODE_DELAY = 2_147_483_647;

class RealTimer {
  timeout: NodeJS.Timeout | undefined;
  unrefed = false;
  constructor(
    public remaining: number,
    readonly fn: () => void,
  ) {}
}

/** Node timers; delays beyond setTimeout's 24.8-day limit are re-armed rather than firing at once. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer = new RealTimer(normalizeDelay(ms), fn);
    if (timer.remaining !== Infinity) this.arm(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    if (handle instanceof RealTimer && handle.timeout !== undefined) {
      clearTimeout(handle.timeout);
      handle.timeout = undefined;
    }
  }

  unref(handle: TimerHandle): void {
    if (handle instanceof RealTimer) {
      handle.unrefed = true;
      handle.timeout?.unref();
    }
  }

  private arm(timer: RealTimer): void {
    const step = Math.min(timer.remaining, MAX_NODE_DELAY);
    timer.remaining -= step;
    timer.timeout = setTimeout(() => {
      timer.timeout = undefined;
      if (timer.remaining > 0) this.arm(timer);
      else timer.fn();
    }, step);
    if (timer.unrefed) timer.timeout.unref();
  }
}

function normalizeDelay(ms: number): number {
  if (Number.isNaN(ms) || ms < 0) return 0;
  return ms;
}

class ManualTimer {
  cancelled = false;
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
}

/**
 * Simulated time: nothing fires until advance()/advanceTo() moves the clock. Due timers fire
 * in (due time, creation order) order, each with now() equal to its due time; timers created
 * while advancing fire in the same advance if they fall due before its end.
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private heap: ManualTimer[] = [];
  private cancelledInHeap = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const delay = normalizeDelay(ms);
    const timer = new ManualTimer(this.time + delay, this.seq++, fn);
    if (delay === Infinity) return timer;
    this.heap.push(timer);
    this.siftUp(this.heap.length - 1);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    if (!(handle instanceof ManualTimer) || handle.cancelled) return;
    handle.cancelled = true;
    this.cancelledInHeap++;
    // Lazy deletion, compacted when cancelled entries dominate, keeps memory bounded.
    if (this.cancelledInHeap > 64 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
  }

  /** Timers still due to fire. */
  get pending(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** The due time of the next live timer, if any. */
  nextDue(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.due;
  }

  /** Moves time forward by ms, firing due timers; returns how many fired. */
  advance(ms: number): number {
    return this.advanceTo(this.time + normalizeDelay(ms));
  }

  advanceTo(target: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelledTop();
      const next = this.heap[0];
      if (next === undefined || next.due > target) break;
      this.pop();
      next.cancelled = true; // fired: a later clearTimer must not count it as a heap entry
      if (next.due > this.time) this.time = next.due;
      fired++;
      next.fn();
    }
    if (target > this.time) this.time = target;
    return fired;
  }

  private dropCancelledTop(): void {
    for (let top = this.heap[0]; top !== undefined && top.cancelled; top = this.heap[0]) {
      this.pop();
      this.cancelledInHeap--;
    }
  }

  private compact(): void {
    this.heap = this.heap.filter((t) => !t.cancelled);
    this.cancelledInHeap = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last === undefined || this.heap.length === 0) return;
    this.heap[0] = last;
    this.siftDown(0);
  }

  private less(a: ManualTimer, b: ManualTimer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const a = heap[i] as ManualTimer;
      const b = heap[parent] as ManualTimer;
      if (!this.less(a, b)) break;
      heap[i] = b;
      heap[parent] = a;
      i = parent;
    }
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.less(heap[left] as ManualTimer, heap[smallest] as ManualTimer)) smallest = left;
      if (right < heap.length && this.less(heap[right] as ManualTimer, heap[smallest] as ManualTimer)) smallest = right;
      if (smallest === i) return;
      const tmp = heap[i] as ManualTimer;
      heap[i] = heap[smallest] as ManualTimer;
      heap[smallest] = tmp;
      i = smallest;
    }
  }
}
