/**
 * The run queue: ONE FIFO of runnable actors per scheduler (one shared scheduler by default,
 * for every runtime of the process), drained from setImmediate. Each turn an actor handles at
 * most `budget` messages (BEAM's reductions), then goes to the back of the queue, so a busy
 * actor cannot starve the others. A drain stops after `sliceMs` so sockets and timers get the
 * event loop between slices.
 */
import { performance } from "node:perf_hooks";

export interface Runnable {
  /** True while the actor sits in a run queue (maintained by the scheduler). */
  queued: boolean;
  /** Handles up to budget messages. */
  run(budget: number): void;
}

export interface SchedulerOptions {
  /** Messages an actor may handle per turn. */
  budget?: number;
  /** Milliseconds of work per drain before yielding to I/O. */
  sliceMs?: number;
}

export class Scheduler {
  readonly budget: number;
  readonly sliceMs: number;
  private ring: (Runnable | undefined)[] = new Array<Runnable | undefined>(1024);
  private head = 0;
  private count = 0;
  private scheduled = false;
  private readonly drainNow = (): void => this.drain();

  constructor(options: SchedulerOptions = {}) {
    this.budget = options.budget ?? 100;
    this.sliceMs = options.sliceMs ?? 10;
  }

  /** Actors waiting for a turn. */
  get length(): number {
    return this.count;
  }

  /** True when nothing is queued and no drain is pending. */
  get idle(): boolean {
    return this.count === 0 && !this.scheduled;
  }

  enqueue(actor: Runnable): void {
    if (actor.queued) return;
    actor.queued = true;
    let ring = this.ring;
    if (this.count === ring.length) ring = this.grow(ring);
    ring[(this.head + this.count) & (ring.length - 1)] = actor;
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainNow);
    }
  }

  private drain(): void {
    this.scheduled = false;
    const deadline = performance.now() + this.sliceMs;
    const budget = this.budget;
    let turns = 0;
    try {
      while (this.count > 0) {
        const ring = this.ring;
        const actor = ring[this.head] as Runnable;
        ring[this.head] = undefined;
        this.head = (this.head + 1) & (ring.length - 1);
        this.count--;
        actor.queued = false;
        actor.run(budget);
        if ((++turns & 127) === 0 && performance.now() > deadline) break;
      }
    } finally {
      // Even if a runtime bug escaped a turn, the queue keeps being drained.
      if (this.count > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.drainNow);
      }
    }
  }

  private grow(ring: (Runnable | undefined)[]): (Runnable | undefined)[] {
    const next = new Array<Runnable | undefined>(ring.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = ring[(this.head + i) & (ring.length - 1)];
    this.head = 0;
    this.ring = next;
    return next;
  }
}

/** The scheduler every runtime uses unless given its own. */
export const defaultScheduler = new Scheduler();
