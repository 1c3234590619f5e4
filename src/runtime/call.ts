/**
 * call/cast plumbing. A call monitors the callee under a fresh ref, so it settles exactly once:
 * by a reply, by the callee's exit (CallError with its reason; noproc if already dead) or by
 * the timeout (CallError timeout). Afterwards the From is inert: late replies are dropped and
 * nothing stays registered (monitor, timer, caller bookkeeping are removed on settlement).
 */
import type { TimerHandle } from "./clock.js";
import { CallError } from "./errors.js";
import { makeRef, type Pid, type Ref } from "./pid.js";
import type { Proc } from "./proc.js";
import { Reason, type ExitReason } from "./reason.js";

/** Whoever waits for a DOWN of some process: an actor (gets a DownMsg), a pending call, or runtime code. */
export interface DownWatcher {
  onDown(ref: Ref, pid: Pid, reason: ExitReason): void;
}

/** The caller of a pending call, to be answered by a `reply` result or later by `replyTo(from, value)`. */
export class From implements DownWatcher {
  /** @internal */ done = false;
  /** @internal */ timer: TimerHandle | undefined = undefined;
  /** @internal */ caller: Proc | undefined = undefined;
  /** @internal */ target: Proc | undefined;

  constructor(
    target: Proc,
    /** @internal */ readonly ref: Ref,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: CallError) => void,
    /** @internal */ readonly label: string,
  ) {
    this.target = target;
  }

  /** @internal */
  settle(value: unknown): void {
    if (this.done) return;
    this.cleanup();
    this.resolve(value);
  }

  /** @internal */
  onDown(_ref: Ref, _pid: Pid, reason: ExitReason): void {
    if (this.done) return;
    this.cleanup();
    this.reject(new CallError(reason, this.label));
  }

  /** @internal */
  timeout(): void {
    if (this.done) return;
    this.timer = undefined;
    this.cleanup();
    this.reject(new CallError({ kind: "timeout" }, this.label));
  }

  /**
   * @internal The caller exited first: forget the call without settling it (its continuation
   * belongs to a dead actor; rejecting could surface as an unhandled rejection).
   */
  abandon(): void {
    if (this.done) return;
    this.cleanup();
  }

  private cleanup(): void {
    this.done = true;
    const target = this.target;
    if (target !== undefined) {
      target.monitorsIn?.delete(this.ref);
      if (this.timer !== undefined) target.rt.clock.clearTimer(this.timer);
    }
    this.timer = undefined;
    this.target = undefined;
    this.caller?.calls?.delete(this);
    this.caller = undefined;
  }
}

/** `{'$gen_call', From, Request}`. Raw actors may answer with `ctx.replyTo(msg.from, value)`. */
export class CallMsg {
  readonly kind = "call";
  constructor(
    readonly from: From,
    readonly request: unknown,
  ) {}
}

/** `{'$gen_cast', Msg}`. */
export class CastMsg {
  readonly kind = "cast";
  constructor(readonly msg: unknown) {}
}

export const DEFAULT_CALL_TIMEOUT = 5000;

export function callProc(
  target: Proc | undefined,
  label: string,
  request: unknown,
  timeoutMs: number,
  caller: Proc | undefined,
  envelope: (from: From, request: unknown) => unknown = (from, req) => new CallMsg(from, req),
): Promise<unknown> {
  if (target === undefined || target.isDead) return Promise.reject(new CallError(Reason.noproc, label));
  if (caller === target) return Promise.reject(new CallError({ kind: "calling_self" }, label));
  return new Promise<unknown>((resolve, reject) => {
    const from = new From(target, makeRef(), resolve, reject, label);
    target.addWatcher(from.ref, from);
    if (timeoutMs !== Infinity) {
      const ms = Number.isFinite(timeoutMs) && timeoutMs >= 0 ? timeoutMs : 0;
      from.timer = target.rt.clock.setTimer(ms, () => from.timeout());
    }
    if (caller !== undefined) {
      from.caller = caller;
      (caller.calls ??= new Set()).add(from);
    }
    target.post(envelope(from, request));
  });
}

export function replyTo(from: From, value: unknown): void {
  from.settle(value);
}
