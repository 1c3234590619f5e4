/**
 * The bare-Node baseline of bench:actors: what the same work costs with no runtime at all.
 * An actor is a plain class with an array queue; one global run queue is drained from
 * setImmediate, each actor handling at most `budget` messages per turn (the same budget as
 * the runtime's scheduler). No links, monitors, registry, events or reports: the floor that
 * Node itself sets, so the runtime's overhead is the distance to it.
 */
import type { Timed } from "./stats.js";

type BareHandler = (actor: BareActor, msg: unknown) => void;

export class BareActor {
  readonly queue: unknown[] = [];
  queued = false;
  /** Per-actor data (the ring's next actor). */
  state: unknown = undefined;

  constructor(
    readonly handle: BareHandler,
    /** Told (by a message) when this actor's handler throws: the bare "supervisor". */
    readonly parent: BareActor | undefined = undefined,
  ) {}
}

/** What a bare actor's parent receives when the actor's handler threw. */
export class BareCrash {
  constructor(
    readonly actor: BareActor,
    readonly error: unknown,
  ) {}
}

export class BareScheduler {
  private runQueue: BareActor[] = [];
  private scheduled = false;
  private readonly drainNow = (): void => this.drain();

  constructor(private readonly budget = 100) {}

  send(to: BareActor, msg: unknown): void {
    to.queue.push(msg);
    if (to.queued) return;
    to.queued = true;
    this.runQueue.push(to);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainNow);
    }
  }

  private drain(): void {
    this.scheduled = false;
    while (this.runQueue.length > 0) {
      const batch = this.runQueue;
      this.runQueue = [];
      for (const actor of batch) {
        actor.queued = false;
        this.turn(actor);
      }
    }
  }

  private turn(actor: BareActor): void {
    const queue = actor.queue;
    for (let n = 0; n < this.budget && queue.length > 0; n++) {
      const msg = queue.shift();
      try {
        actor.handle(actor, msg);
      } catch (error) {
        queue.length = 0;
        if (actor.parent !== undefined) this.send(actor.parent, new BareCrash(actor, error));
        return;
      }
    }
    if (queue.length > 0 && !actor.queued) {
      actor.queued = true;
      this.runQueue.push(actor);
    }
  }
}

const idle: BareHandler = () => undefined;

/** Creates count idle bare actors, kept alive in the returned array. */
export function bareSpawn(count: number): { actors: BareActor[]; ms: number } {
  const actors: BareActor[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) actors.push(new BareActor(idle));
  return { actors, ms: performance.now() - started };
}

/** roundTrips ping/pong exchanges between two bare actors. */
export function barePingPong(roundTrips: number): Promise<Timed> {
  const scheduler = new BareScheduler();
  return new Promise((resolve) => {
    let left = roundTrips;
    let started = 0;
    const pong = new BareActor((_self, msg) => scheduler.send(msg as BareActor, "pong"));
    const ping = new BareActor((self) => {
      if (--left === 0) resolve({ ms: performance.now() - started, messages: roundTrips * 2 });
      else scheduler.send(pong, self);
    });
    started = performance.now();
    scheduler.send(pong, ping);
  });
}

/** A token passed around a ring of size bare actors, laps times. */
export function bareRing(size: number, laps: number): Promise<Timed> {
  const scheduler = new BareScheduler();
  const hops = size * laps;
  return new Promise((resolve) => {
    let started = 0;
    const ring: BareActor[] = [];
    const forward: BareHandler = (self, msg) => {
      const left = msg as number;
      if (left === 0) resolve({ ms: performance.now() - started, messages: hops });
      else scheduler.send(self.state as BareActor, left - 1);
    };
    for (let i = 0; i < size; i++) ring.push(new BareActor(forward));
    ring.forEach((actor, i) => (actor.state = ring[(i + 1) % size]));
    started = performance.now();
    scheduler.send(ring[0] as BareActor, hops - 1);
  });
}

/**
 * crashes times: a child throws, the bare supervisor (told by a message) replaces it with a
 * new instance; latency = from the crashing send to the replacement existing. No logging.
 */
export async function bareRestarts(crashes: number): Promise<number[]> {
  const scheduler = new BareScheduler();
  const latencies: number[] = [];
  let restarted: ((at: number) => void) | undefined;
  const crashy: BareHandler = () => {
    throw new Error("boom");
  };
  const supervisor: BareActor = new BareActor((_self, msg) => {
    if (!(msg instanceof BareCrash)) return;
    child = new BareActor(crashy, supervisor);
    restarted?.(performance.now());
  });
  let child = new BareActor(crashy, supervisor);
  for (let i = 0; i < crashes; i++) {
    const done = new Promise<number>((resolve) => (restarted = resolve));
    const started = performance.now();
    scheduler.send(child, "crash");
    latencies.push(((await done) - started) * 1000);
  }
  return latencies;
}
