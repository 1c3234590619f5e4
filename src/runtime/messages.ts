/**
 * Messages the runtime itself puts in mailboxes. Classes, so a handler tells them from user
 * data with `instanceof` (a user message shaped `{ kind: "EXIT" }` is never mistaken for one).
 */
import type { Pid, Ref } from "./pid.js";
import type { ExitReason } from "./reason.js";
import type { TimerRef } from "./timers.js";

/** `{'EXIT', From, Reason}`: an exit signal received while trapping exits. `from` is undefined for an exit sent from outside any actor. */
export class ExitMsg {
  readonly kind = "EXIT";
  constructor(
    readonly from: Pid | undefined,
    readonly reason: ExitReason,
  ) {}
}

/** `{'DOWN', Ref, process, Pid, Reason}`: a monitored process exited (noproc if it was already dead). */
export class DownMsg {
  readonly kind = "DOWN";
  constructor(
    readonly ref: Ref,
    readonly pid: Pid,
    readonly reason: ExitReason,
  ) {}
}

/** `{timeout, TRef, Msg}`: delivered by startTimer (sendAfter delivers the bare message). */
export class TimerMsg {
  readonly kind = "timeout";
  constructor(
    readonly ref: TimerRef,
    readonly msg: unknown,
  ) {}
}

export type SystemMessage = ExitMsg | DownMsg | TimerMsg;
