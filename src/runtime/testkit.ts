/**
 * Driving a runtime deterministically (tests, seeded chaos replay): wait until no actor is
 * runnable, and move a ManualClock forward one due timer at a time, letting actors react
 * between timers as they would in real time.
 */
import type { ManualClock } from "./clock.js";
import { defaultScheduler, type Scheduler } from "./scheduler.js";

const tick = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once the run queue stayed empty across two event-loop turns (async handlers' microtasks included). */
export async function settle(scheduler: Scheduler = defaultScheduler, maxTicks = 100_000): Promise<void> {
  let idleTicks = 0;
  for (let i = 0; i < maxTicks; i++) {
    await tick();
    if (scheduler.idle) {
      if (++idleTicks >= 2) return;
    } else idleTicks = 0;
  }
  throw new Error(`settle: actors still runnable after ${maxTicks} event-loop turns`);
}

/**
 * Advances clock by ms: fires each due timer at its time, settling after each, so timers that
 * actors set while reacting fire too if due within the window.
 */
export async function advance(clock: ManualClock, ms: number, scheduler: Scheduler = defaultScheduler, maxTimers = 100_000): Promise<void> {
  const target = clock.now() + ms;
  await settle(scheduler);
  for (let fired = 0; ; fired++) {
    const next = clock.nextDue();
    if (next === undefined || next > target) break;
    if (fired >= maxTimers) throw new Error(`advance: more than ${maxTimers} timers due within ${ms} ms`);
    clock.advanceTo(next);
    await settle(scheduler);
  }
  clock.advanceTo(target);
  await settle(scheduler);
}
