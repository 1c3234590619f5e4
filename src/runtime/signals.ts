/**
 * Exit signals, links and process death.
 *
 * Guarantees:
 * - A death is processed exactly once, iteratively: link propagation through a chain (or ring)
 *   of 100,000 linked actors uses a queue, never the JS stack.
 * - On death, in order: the mailbox is dropped, timers cancelled, owned resources closed
 *   (newest first, errors logged), pending calls made by the actor abandoned, names and groups
 *   released, monitors it held removed, then linked processes receive the exit signal and
 *   monitors fire DOWN with the reason. Nothing the actor registered survives it.
 * - `kill` sent as a signal cannot be trapped and is seen by links and monitors as `killed`.
 *   `normal` from a link is ignored by a process that does not trap exits.
 */
import { ExitMsg } from "./messages.js";
import type { Pid } from "./pid.js";
import type { Proc } from "./proc.js";
import { DEAD } from "./status.js";
import { Reason, type ExitReason } from "./reason.js";
import { closeResource } from "./resources.js";
import { cancelAllTimers } from "./timers.js";

export function linkProcs(a: Proc, pid: Pid): void {
  const b = pid.proc;
  if (b === undefined || b.status === DEAD) {
    exitSignal(a, pid, Reason.noproc, true);
    return;
  }
  if (a.status === DEAD) {
    exitSignal(b, a.pid, Reason.noproc, true);
    return;
  }
  if (b === a) return;
  (a.links ??= new Set()).add(b);
  (b.links ??= new Set()).add(a);
}

export function unlinkProcs(a: Proc, pid: Pid): void {
  const b = pid.proc;
  if (b === undefined) return;
  a.links?.delete(b);
  b.links?.delete(a);
}

/**
 * Delivers an exit signal to target. `viaLink` is false for exit(pid, reason) sent explicitly:
 * only then is `kill` untrappable and `normal` from oneself fatal.
 */
export function exitSignal(target: Proc, from: Pid | undefined, reason: ExitReason, viaLink: boolean): void {
  if (target.status === DEAD) return;
  if (reason.kind === "kill" && !viaLink) {
    die(target, Reason.killed, false);
    return;
  }
  if (target.trapping) {
    target.post(new ExitMsg(from, reason));
    return;
  }
  if (reason.kind === "normal") {
    if (!viaLink && from === target.pid) die(target, reason, false);
    return;
  }
  die(target, reason, false);
}

const dying: Proc[] = [];
const dyingReasons: ExitReason[] = [];
const dyingOnOwn: boolean[] = [];
let draining = false;

/**
 * Marks proc dead now (sends to it become no-ops at once) and processes its death, plus every
 * death it causes, before returning. `onItsOwn`: it crashed or stopped itself (reported if
 * abnormal) rather than being killed by a signal.
 */
export function die(proc: Proc, reason: ExitReason, onItsOwn: boolean): void {
  if (proc.status === DEAD) return;
  proc.status = DEAD;
  dying.push(proc);
  dyingReasons.push(reason);
  dyingOnOwn.push(onItsOwn);
  if (draining) return;
  draining = true;
  try {
    for (let i = 0; i < dying.length; i++) {
      finalize(dying[i] as Proc, dyingReasons[i] as ExitReason, dyingOnOwn[i] as boolean);
    }
  } finally {
    dying.length = 0;
    dyingReasons.length = 0;
    dyingOnOwn.length = 0;
    draining = false;
  }
}

function finalize(proc: Proc, reason: ExitReason, onItsOwn: boolean): void {
  const rt = proc.rt;
  const pid = proc.pid;
  const queued = proc.mailbox.size;
  const linkCount = proc.links?.size ?? 0;
  const name = proc.names?.[0];
  proc.mailbox.clear();
  cancelAllTimers(proc);
  if (proc.idleTimer !== undefined) proc.idleTimer = undefined;

  const resources = proc.resources;
  if (resources !== undefined) {
    proc.resources = undefined;
    for (let i = resources.length - 1; i >= 0; i--) {
      closeResource(resources[i] as NonNullable<(typeof resources)[number]>, (error) => rt.resourceCloseFailed(pid, error));
    }
  }

  const calls = proc.calls;
  if (calls !== undefined) {
    proc.calls = undefined;
    for (const from of calls) from.abandon();
  }

  rt.registry.removeProc(proc);

  const watching = proc.monitorsOut;
  if (watching !== undefined) {
    proc.monitorsOut = undefined;
    for (const [ref, target] of watching) target.monitorsIn?.delete(ref);
  }

  const links = proc.links;
  if (links !== undefined) {
    proc.links = undefined;
    for (const linked of links) {
      linked.links?.delete(proc);
      exitSignal(linked, pid, reason, true);
    }
  }

  const watchers = proc.monitorsIn;
  if (watchers !== undefined) {
    proc.monitorsIn = undefined;
    for (const [ref, watcher] of watchers) watcher.onDown(ref, pid, reason);
  }

  rt.processExited(proc, reason, onItsOwn, { queued, links: linkCount, name });
  pid.proc = undefined;
  proc.state = undefined;
}
