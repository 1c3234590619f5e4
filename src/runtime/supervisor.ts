/**
 * The supervisor behaviour (a server that traps exits) and the executor of supervisorPolicy.
 *
 * Guarantees:
 * - Children start in list order; if one fails, the started ones are stopped in reverse order
 *   and the supervisor's start fails with {shutdown, {failed_to_start_child, id, reason}}.
 * - On a child's exit: temporary -> forgotten; transient -> restarted only if abnormal;
 *   permanent -> restarted; strategy decides the siblings (one_for_all: all others stopped in
 *   reverse order then all started in order; rest_for_one: the later ones).
 * - Every restart (and every retry of a failed restart) counts toward intensity within period,
 *   across all children; past it the supervisor stops every child (reverse order), reports
 *   reached_max_restart_intensity, emits "escalated" and exits shutdown.
 * - A misbehaving child (throws in init, returns garbage, exits oddly, never dies on shutdown)
 *   never crashes the supervisor: failures become restarts, retries or kills.
 * - On its own exit (parent's EXIT, stop, escalation) it stops all children: reverse start order,
 *   or concurrently for simple_one_for_one.
 */
import type { Ctx } from "./context.js";
import { ExitMsg } from "./messages.js";
import type { Pid } from "./pid.js";
import type { Proc } from "./proc.js";
import { formatReason, isAbnormal, Reason, type ExitReason } from "./reason.js";
import { defineServer, type ServerBehaviour } from "./server.js";
import { noreply, ok, stop, type InfoResult, type InitResult } from "./serverResults.js";
import { handleAdminCall, type SupervisorRequest } from "./supervisorAdmin.js";
import { Child, expectedShutdownReason, shutdownChild, startChild, type StartOutcome } from "./supervisorChildren.js";
import { analyzeExit, restartGroup, restartOrGiveUp, type ExitVerdict } from "./supervisorPolicy.js";
import type { NormalizedChild, SupervisorFlags } from "./supervisorSpec.js";
import { assertNever } from "./verdict.js";

export interface ValidatedSpec {
  readonly flags: SupervisorFlags;
  readonly children: readonly NormalizedChild[];
}

export class SupervisorState {
  /** Static strategies: every child slot in start order. */
  readonly order: Child[] = [];
  /** Running children by pid (both kinds of strategy). */
  readonly byPid = new Map<Pid, Child>();
  /** simple_one_for_one children whose restart failed and awaits a retry. */
  readonly retrying = new Set<Child>();
  /** Timestamps of recent restarts (intensity window). */
  window: readonly number[] = [];

  constructor(
    readonly flags: SupervisorFlags,
    /** simple_one_for_one's template. */
    readonly template: NormalizedChild | undefined,
  ) {}

  get dynamic(): boolean {
    return this.flags.strategy === "simple_one_for_one";
  }

  childPids(): Pid[] {
    if (this.dynamic) return [...this.byPid.keys()];
    const pids: Pid[] = [];
    for (const child of this.order) if (child.pid !== undefined) pids.push(child.pid);
    return pids;
  }
}

/** Queued to itself when a restart failed: OTP's try_again_restart. */
export class RetryRestart {
  constructor(readonly child: Child) {}
}

type SupResult = InfoResult<SupervisorState>;

const behaviours = new Map<string, ServerBehaviour<SupervisorState, ValidatedSpec, SupervisorRequest>>();

/** @internal One behaviour object per supervisor label (its name in snapshots). */
export function supervisorBehaviour(label: string): ServerBehaviour<SupervisorState, ValidatedSpec, SupervisorRequest> {
  let behaviour = behaviours.get(label);
  if (behaviour === undefined) {
    behaviour = defineServer<SupervisorState, ValidatedSpec, SupervisorRequest>({
      name: label,
      init,
      handleCall: (request, from, state, ctx) => handleAdminCall(ctx as Proc, state, request, from),
      handleInfo,
      terminate: (_reason, state, ctx) => stopAllChildren(ctx as Proc, state),
      children: (state) => state.childPids(),
    });
    if (behaviours.size < 1000) behaviours.set(label, behaviour);
  }
  return behaviour;
}

async function init(spec: ValidatedSpec, ctx: Ctx): Promise<InitResult<SupervisorState>> {
  const sup = ctx as Proc;
  ctx.trapExit(true);
  const dynamic = spec.flags.strategy === "simple_one_for_one";
  const state = new SupervisorState(spec.flags, dynamic ? spec.children[0] : undefined);
  if (dynamic) return ok(state);
  for (const childSpec of spec.children) {
    const child = new Child(childSpec, []);
    const outcome = await startChild(sup, child);
    if (outcome.kind === "failed") {
      reportStartError(sup, state, child, outcome.reason);
      await stopAllChildren(sup, state);
      return stop(Reason.shutdown({ failed_to_start_child: childSpec.id, reason: formatReason(outcome.reason) }));
    }
    if (outcome.kind === "ignored" && childSpec.restart === "temporary") continue;
    state.order.push(child);
    if (outcome.kind === "started") attach(state, child, outcome.pid);
  }
  return ok(state);
}

function handleInfo(msg: unknown, state: SupervisorState, ctx: Ctx): Promise<SupResult> | SupResult {
  const sup = ctx as Proc;
  if (msg instanceof ExitMsg) return onExit(sup, state, msg);
  if (msg instanceof RetryRestart) return onRetry(sup, state, msg.child);
  return noreply(state); // OTP logs and drops unexpected messages; so do we, silently
}

/** @internal Records a running child. */
export function attach(state: SupervisorState, child: Child, pid: Pid): void {
  child.pid = pid;
  child.restarting = false;
  state.byPid.set(pid, child);
  const proc = pid.proc;
  if (proc !== undefined) proc.restarts = child.restarts;
}

/** @internal Forgets a child slot entirely. */
export function forget(state: SupervisorState, child: Child): void {
  if (child.pid !== undefined) state.byPid.delete(child.pid);
  child.pid = undefined;
  child.restarting = false;
  state.retrying.delete(child);
  const index = state.order.indexOf(child);
  if (index >= 0) state.order.splice(index, 1);
}

async function onExit(sup: Proc, state: SupervisorState, msg: ExitMsg): Promise<SupResult> {
  const pid = msg.from;
  const child = pid === undefined ? undefined : state.byPid.get(pid);
  if (child === undefined || pid === undefined) return noreply(state); // stale, or not one of ours
  state.byPid.delete(pid);
  child.pid = undefined;
  child.lastExit = msg.reason;
  if (isAbnormal(msg.reason)) {
    sup.rt.report("error", "child_terminated", childFields(sup, state, child, pid, msg.reason), "child terminated");
  }
  const verdict = analyzeExit({
    child: child.spec,
    reason: msg.reason,
    autoShutdown: state.flags.autoShutdown,
    otherSignificantRunning: anySignificantRunning(state),
    window: state.window,
    now: sup.rt.clock.now(),
    intensity: state.flags.intensity,
    period: state.flags.period,
  });
  switch (verdict.kind) {
    case "forget":
      forget(state, child);
      return noreply(state);
    case "keepStopped":
      if (state.dynamic) forget(state, child);
      return noreply(state);
    case "autoShutdown":
      escalate(sup, state, "auto_shutdown", 0);
      return stop(Reason.shutdown());
    case "giveUp":
    case "restart":
      return restartOrEscalate(sup, state, child, verdict, msg.reason);
    default:
      return assertNever(verdict, "exit verdict");
  }
}

async function restartOrEscalate(
  sup: Proc,
  state: SupervisorState,
  child: Child,
  verdict: Extract<ExitVerdict, { kind: "giveUp" | "restart" }>,
  cause: ExitReason,
): Promise<SupResult> {
  if (verdict.kind === "giveUp") {
    escalate(sup, state, "reached_max_restart_intensity", verdict.restarts);
    return stop(Reason.shutdown());
  }
  state.window = verdict.window;
  await restart(sup, state, child, cause);
  return noreply(state);
}

async function onRetry(sup: Proc, state: SupervisorState, child: Child): Promise<SupResult> {
  if (!child.restarting) return noreply(state); // restarted or deleted meanwhile
  const verdict = restartOrGiveUp(state.window, sup.rt.clock.now(), state.flags.intensity, state.flags.period);
  return restartOrEscalate(sup, state, child, verdict, child.lastExit);
}

/** Restarts child and, per strategy, its siblings. A failed start queues a retry. */
async function restart(sup: Proc, state: SupervisorState, child: Child, cause: ExitReason): Promise<void> {
  if (state.dynamic) {
    state.retrying.delete(child);
    await startAgain(sup, state, child, cause);
    return;
  }
  const group = restartGroup(state.flags.strategy, state.order, state.order.indexOf(child));
  for (const sibling of group.stop) await stopChild(sup, state, sibling);
  for (const temporary of group.forget) forget(state, temporary);
  for (const member of group.start) {
    if (!(await startAgain(sup, state, member, cause))) return;
  }
}

/** Starts a child slot again; false if it failed (a retry is queued). */
async function startAgain(sup: Proc, state: SupervisorState, child: Child, cause: ExitReason): Promise<boolean> {
  child.restarts++;
  const outcome: StartOutcome = await startChild(sup, child);
  switch (outcome.kind) {
    case "started":
      attach(state, child, outcome.pid);
      emitRestarted(sup, child, outcome.pid, cause);
      return true;
    case "ignored":
      child.restarting = false;
      if (state.dynamic) forget(state, child);
      emitRestarted(sup, child, undefined, cause);
      return true;
    case "failed":
      reportStartError(sup, state, child, outcome.reason);
      emitRestartFailed(sup, child, outcome.reason);
      child.restarting = true;
      if (state.dynamic) state.retrying.add(child);
      sup.post(new RetryRestart(child));
      return false;
    default:
      return assertNever(outcome, "start outcome");
  }
}

/** @internal Terminates one running child per its shutdown spec; reports an unexpected exit reason. */
export async function stopChild(sup: Proc, state: SupervisorState, child: Child): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  state.byPid.delete(pid);
  child.pid = undefined;
  const reason = await shutdownChild(sup, pid, child.spec.shutdown);
  if (reason.kind !== expectedShutdownReason(child.spec.shutdown) && isAbnormal(reason)) {
    sup.rt.report("error", "shutdown_error", childFields(sup, state, child, pid, reason), "child did not shut down cleanly");
  }
}

/** Stops every child: reverse start order, or all at once for simple_one_for_one. */
export async function stopAllChildren(sup: Proc, state: SupervisorState): Promise<void> {
  state.retrying.clear();
  if (state.dynamic) {
    const children = [...state.byPid.values()];
    await Promise.all(children.map((child) => stopChild(sup, state, child)));
    return;
  }
  for (let i = state.order.length - 1; i >= 0; i--) {
    const child = state.order[i] as Child;
    child.restarting = false;
    await stopChild(sup, state, child);
  }
}

function anySignificantRunning(state: SupervisorState): boolean {
  for (const child of state.byPid.values()) if (child.spec.significant) return true;
  return false;
}

function escalate(sup: Proc, state: SupervisorState, cause: "reached_max_restart_intensity" | "auto_shutdown", restarts: number): void {
  if (cause === "reached_max_restart_intensity") {
    sup.rt.report(
      "error",
      "reached_max_restart_intensity",
      { supervisor: sup.pid.toString(), name: state.flags.name, intensity: state.flags.intensity, period: state.flags.period },
      "supervisor reached max restart intensity, shutting down",
    );
  }
  const events = sup.rt.events;
  if (events.active) events.emit({ type: "escalated", supervisor: sup.pid, cause, restarts });
}

function emitRestarted(sup: Proc, child: Child, pid: Pid | undefined, reason: ExitReason): void {
  const events = sup.rt.events;
  if (events.active) events.emit({ type: "restarted", supervisor: sup.pid, childId: child.spec.id, pid, restarts: child.restarts, reason });
}

function emitRestartFailed(sup: Proc, child: Child, reason: ExitReason): void {
  const events = sup.rt.events;
  if (events.active) events.emit({ type: "restartFailed", supervisor: sup.pid, childId: child.spec.id, restarts: child.restarts, reason });
}

/** @internal */
export function reportStartError(sup: Proc, state: SupervisorState, child: Child, reason: ExitReason): void {
  sup.rt.report("error", "start_error", childFields(sup, state, child, undefined, reason), "child failed to start");
}

function childFields(sup: Proc, state: SupervisorState, child: Child, pid: Pid | undefined, reason: ExitReason): Record<string, unknown> {
  return {
    supervisor: sup.pid.toString(),
    name: state.flags.name,
    child: child.spec.id,
    actor: pid?.toString(),
    reason: formatReason(reason),
    err: reason.kind === "error" ? reason.error : undefined,
    restart: child.spec.restart,
  };
}
