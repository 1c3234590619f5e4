/**
 * Starting and stopping one supervised child.
 *
 * - start: the child's start function runs as if inside the supervisor's turn (so
 *   startServer/startSupervisor link to it); the result is then linked again (idempotent) so
 *   a start function that spawned after an `await` is supervised too. A throw, a rejection or
 *   a result that is neither a Pid nor "ignore" is a failed start, never a supervisor crash.
 * - shutdown: unlink, monitor, then brutal_kill = exit(kill); a timeout T = exit(shutdown),
 *   wait T ms for the exit, then kill; infinity = wait. An EXIT the child sent before the
 *   unlink is removed from the supervisor's mailbox and its reason used.
 */
import { StartError, BadReturnError, ProcessExit } from "./errors.js";
import { ExitMsg } from "./messages.js";
import { Pid } from "./pid.js";
import { withCurrent, type Proc } from "./proc.js";
import { isExitReason, Reason, type ExitReason } from "./reason.js";
import { exitSignal, linkProcs, unlinkProcs } from "./signals.js";
import { DEAD } from "./status.js";
import type { NormalizedChild, Shutdown } from "./supervisorSpec.js";

/** One child slot of a supervisor. */
export class Child {
  pid: Pid | undefined = undefined;
  /** A restart failed; a retry is queued. */
  restarting = false;
  restarts = 0;
  /** Why it last exited (carried by the "restarted" event of a retried restart). */
  lastExit: ExitReason = Reason.normal;

  constructor(
    readonly spec: NormalizedChild,
    /** simple_one_for_one: the extra args it was started with (kept only if it may be restarted). */
    readonly args: readonly unknown[],
  ) {}

  get running(): boolean {
    return this.pid !== undefined;
  }

  get restart(): NormalizedChild["restart"] {
    return this.spec.restart;
  }
}

export type StartOutcome =
  | { readonly kind: "started"; readonly pid: Pid }
  | { readonly kind: "ignored" }
  | { readonly kind: "failed"; readonly reason: ExitReason };

export async function startChild(sup: Proc, child: Child): Promise<StartOutcome> {
  let result: unknown;
  try {
    result = await withCurrent(sup, () => child.spec.start(...child.args));
  } catch (error) {
    return { kind: "failed", reason: startFailureReason(error) };
  }
  if (result === "ignore") return { kind: "ignored" };
  if (!(result instanceof Pid)) {
    return { kind: "failed", reason: Reason.error(new BadReturnError(`child "${child.spec.id}" start`, result)) };
  }
  const proc = result.proc;
  if (proc !== undefined && proc.parent === undefined && proc !== sup) proc.parent = sup.pid;
  if (sup.status !== DEAD) linkProcs(sup, result);
  return { kind: "started", pid: result };
}

function startFailureReason(error: unknown): ExitReason {
  if (error instanceof StartError && isExitReason(error.reason)) return error.reason;
  if (error instanceof ProcessExit) return error.reason;
  return Reason.error(error);
}

/** Terminates pid per its shutdown spec; resolves with the reason it exited with. */
export function shutdownChild(sup: Proc, pid: Pid, shutdown: Shutdown): Promise<ExitReason> {
  unlinkProcs(sup, pid);
  const queued = sup.mailbox.removeWhere((m) => m instanceof ExitMsg && m.from === pid);
  const proc = pid.proc;
  if (proc === undefined || proc.status === DEAD) {
    return Promise.resolve(queued instanceof ExitMsg ? queued.reason : Reason.noproc);
  }
  const rt = sup.rt;
  return new Promise<ExitReason>((resolve) => {
    let timer: object | undefined;
    rt.watch(pid, (reason) => {
      if (timer !== undefined) rt.clock.clearTimer(timer);
      resolve(reason);
    });
    if (shutdown === "brutal_kill") {
      exitSignal(proc, sup.pid, Reason.kill, false);
      return;
    }
    if (typeof shutdown === "number") {
      timer = rt.clock.setTimer(shutdown, () => {
        timer = undefined;
        const still = pid.proc;
        if (still !== undefined) exitSignal(still, sup.pid, Reason.kill, false);
      });
    }
    exitSignal(proc, sup.pid, Reason.shutdown(), false);
  });
}

/** The reason a child is expected to exit with when shut down this way (anything else is reported). */
export function expectedShutdownReason(shutdown: Shutdown): ExitReason["kind"] {
  return shutdown === "brutal_kill" ? "killed" : "shutdown";
}
