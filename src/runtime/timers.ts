/**
 * Actor timers (erlang:send_after / start_timer / cancel_timer, timer:send_interval). A timer
 * belongs to its *target*: it is cancelled when the target exits, so no timer outlives its
 * actor. A timer aimed at a dead pid is created already inactive (cancelTimer returns false).
 */
import type { TimerHandle } from "./clock.js";
import { TimerMsg } from "./messages.js";
import type { Pid } from "./pid.js";
import type { Proc } from "./proc.js";

export type TimerKind = "send" | "timeout" | "interval";

let lastTimerId = 0;

/** The reference of one timer; compare with `===` (e.g. against `TimerMsg.ref`). */
export class TimerRef {
  readonly id = ++lastTimerId;
  /** @internal */ target: Proc | undefined;
  /** @internal */ handle: TimerHandle | undefined = undefined;
  /** @internal */ due = 0;

  constructor(
    readonly kind: TimerKind,
    readonly dest: Pid,
    /** @internal */ readonly msg: unknown,
    /** @internal */ readonly intervalMs: number,
    target: Proc | undefined,
  ) {
    this.target = target;
  }

  /** True until the timer fired (once-timers), was cancelled, or its target exited. */
  get active(): boolean {
    return this.target !== undefined;
  }
}

export function startActorTimer(dest: Pid, ms: number, msg: unknown, kind: TimerKind): TimerRef {
  const target = dest.proc;
  const delay = Number.isFinite(ms) && ms > 0 ? ms : ms === Infinity ? Infinity : 0;
  const timer = new TimerRef(kind, dest, msg, delay, target);
  if (target === undefined || target.isDead) {
    timer.target = undefined;
    return timer;
  }
  arm(timer, target, delay);
  (target.timers ??= new Set()).add(timer);
  return timer;
}

function arm(timer: TimerRef, target: Proc, delay: number): void {
  const clock = target.rt.clock;
  timer.due = clock.now() + delay;
  timer.handle = clock.setTimer(delay, () => fire(timer));
}

function fire(timer: TimerRef): void {
  const target = timer.target;
  if (target === undefined) return;
  if (timer.kind === "interval") {
    arm(timer, target, timer.intervalMs);
  } else {
    timer.target = undefined;
    target.timers?.delete(timer);
  }
  target.post(timer.kind === "timeout" ? new TimerMsg(timer, timer.msg) : timer.msg);
}

/** Cancels a timer: the milliseconds it had left, or false if it already fired, was cancelled or its target died. */
export function cancelActorTimer(timer: TimerRef): number | false {
  const target = timer.target;
  if (target === undefined) return false;
  const clock = target.rt.clock;
  if (timer.handle !== undefined) clock.clearTimer(timer.handle);
  timer.target = undefined;
  target.timers?.delete(timer);
  return Math.max(0, timer.due - clock.now());
}

/** Called when the target exits. */
export function cancelAllTimers(target: Proc): void {
  const timers = target.timers;
  if (timers === undefined) return;
  target.timers = undefined;
  const clock = target.rt.clock;
  for (const timer of timers) {
    if (timer.handle !== undefined) clock.clearTimer(timer.handle);
    timer.target = undefined;
  }
}
