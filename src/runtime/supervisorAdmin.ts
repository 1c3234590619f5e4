/**
 * Supervisor administration calls (start_child, terminate_child, delete_child, restart_child,
 * which_children, count_children), answered inside the supervisor's turn. Errors are replies
 * (tagged), turned into SupervisorError by the client functions in supervisorApi.ts.
 */
import type { From } from "./call.js";
import { ChildSpecError } from "./errors.js";
import { Pid } from "./pid.js";
import type { Proc } from "./proc.js";
import type { ExitReason } from "./reason.js";
import { reply, type CallResult } from "./serverResults.js";
import { attach, forget, reportStartError, stopChild, type SupervisorState } from "./supervisor.js";
import { Child, startChild } from "./supervisorChildren.js";
import { validateChild, type ChildType, type RestartType } from "./supervisorSpec.js";
import { assertNever } from "./verdict.js";

export type SupervisorRequest =
  | { readonly op: "start_child"; readonly spec: unknown }
  | { readonly op: "start_dynamic_child"; readonly args: readonly unknown[] }
  | { readonly op: "terminate_child"; readonly id: string | Pid }
  | { readonly op: "delete_child"; readonly id: string }
  | { readonly op: "restart_child"; readonly id: string }
  | { readonly op: "which_children" }
  | { readonly op: "count_children" };

export type SupervisorErrorCode =
  | "not_found"
  | "already_present"
  | "already_started"
  | "running"
  | "restarting"
  | "simple_one_for_one"
  | "not_simple_one_for_one"
  | "start_failed"
  | "invalid_child_spec";

export type AdminReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: SupervisorErrorCode; readonly pid?: Pid; readonly reason?: ExitReason; readonly detail?: string };

export interface ChildInfo {
  readonly id: string | undefined;
  /** undefined: not running; "restarting": a failed restart awaits its retry. */
  readonly pid: Pid | "restarting" | undefined;
  readonly type: ChildType;
  readonly restart: RestartType;
}

export interface ChildCounts {
  readonly specs: number;
  readonly active: number;
  readonly supervisors: number;
  readonly workers: number;
}

const failure = (code: SupervisorErrorCode, extra: { pid?: Pid; reason?: ExitReason; detail?: string } = {}): AdminReply => ({ ok: false, code, ...extra });
const success = (value: unknown): AdminReply => ({ ok: true, value });

export async function handleAdminCall(
  sup: Proc,
  state: SupervisorState,
  request: SupervisorRequest,
  _from: From,
): Promise<CallResult<SupervisorState>> {
  return reply(await answer(sup, state, request), state);
}

async function answer(sup: Proc, state: SupervisorState, request: SupervisorRequest): Promise<AdminReply> {
  switch (request.op) {
    case "start_child":
      return state.dynamic ? failure("simple_one_for_one") : startStatic(sup, state, request.spec);
    case "start_dynamic_child":
      return state.dynamic ? startDynamic(sup, state, request.args) : failure("not_simple_one_for_one");
    case "terminate_child":
      return terminate(sup, state, request.id);
    case "delete_child":
      return state.dynamic ? failure("simple_one_for_one") : deleteStatic(state, request.id);
    case "restart_child":
      return state.dynamic ? failure("simple_one_for_one") : restartStatic(sup, state, request.id);
    case "which_children":
      return success(whichChildren(state));
    case "count_children":
      return success(countChildren(state));
    default:
      return assertNever(request, "supervisor request");
  }
}

async function startStatic(sup: Proc, state: SupervisorState, rawSpec: unknown): Promise<AdminReply> {
  let spec;
  try {
    spec = validateChild(rawSpec, state.flags);
  } catch (error) {
    if (error instanceof ChildSpecError) return failure("invalid_child_spec", { detail: error.message });
    throw error;
  }
  const existing = state.order.find((c) => c.spec.id === spec.id);
  if (existing !== undefined) {
    return existing.pid !== undefined ? failure("already_started", { pid: existing.pid }) : failure("already_present");
  }
  const child = new Child(spec, []);
  return startAndReply(sup, state, child, {
    started: (pid) => {
      state.order.push(child);
      attach(state, child, pid);
    },
    ignored: () => {
      if (spec.restart !== "temporary") state.order.push(child);
    },
  });
}

/** Starts child and turns the outcome into the admin reply; the callbacks record it. */
async function startAndReply(
  sup: Proc,
  state: SupervisorState,
  child: Child,
  record: { started: (pid: Pid) => void; ignored?: () => void },
): Promise<AdminReply> {
  const outcome = await startChild(sup, child);
  switch (outcome.kind) {
    case "started":
      record.started(outcome.pid);
      return success(outcome.pid);
    case "ignored":
      record.ignored?.();
      return success("ignore");
    case "failed":
      reportStartError(sup, state, child, outcome.reason);
      return failure("start_failed", { reason: outcome.reason });
    default:
      return assertNever(outcome, "start outcome");
  }
}

async function startDynamic(sup: Proc, state: SupervisorState, args: readonly unknown[]): Promise<AdminReply> {
  const template = state.template;
  if (template === undefined) return failure("not_simple_one_for_one");
  // A temporary child is never restarted, so its args need not be kept.
  const child = new Child(template, args);
  return startAndReply(sup, state, child, {
    started: (pid) => attach(state, template.restart === "temporary" ? new Child(template, []) : child, pid),
  });
}

async function terminate(sup: Proc, state: SupervisorState, id: string | Pid): Promise<AdminReply> {
  if (state.dynamic && !(id instanceof Pid)) return failure("simple_one_for_one"); // dynamic children have no ids
  const child = id instanceof Pid ? state.byPid.get(id) : state.order.find((c) => c.spec.id === id);
  if (child === undefined) return failure("not_found");
  await stopChild(sup, state, child);
  child.restarting = false;
  if (state.dynamic || child.spec.restart === "temporary") forget(state, child);
  return success(undefined);
}

function deleteStatic(state: SupervisorState, id: string): AdminReply {
  const child = state.order.find((c) => c.spec.id === id);
  if (child === undefined) return failure("not_found");
  if (child.pid !== undefined) return failure("running");
  if (child.restarting) return failure("restarting");
  forget(state, child);
  return success(undefined);
}

async function restartStatic(sup: Proc, state: SupervisorState, id: string): Promise<AdminReply> {
  const child = state.order.find((c) => c.spec.id === id);
  if (child === undefined) return failure("not_found");
  if (child.pid !== undefined) return failure("running");
  if (child.restarting) return failure("restarting");
  return startAndReply(sup, state, child, { started: (pid) => attach(state, child, pid) });
}

function whichChildren(state: SupervisorState): ChildInfo[] {
  const info = (child: Child, id: string | undefined): ChildInfo => ({
    id,
    pid: child.pid ?? (child.restarting ? "restarting" : undefined),
    type: child.spec.type,
    restart: child.spec.restart,
  });
  if (state.dynamic) {
    return [...state.byPid.values(), ...state.retrying].map((child) => info(child, undefined));
  }
  return state.order.map((child) => info(child, child.spec.id));
}

function countChildren(state: SupervisorState): ChildCounts {
  const all = state.dynamic ? [...state.byPid.values(), ...state.retrying] : state.order;
  let supervisors = 0;
  for (const child of all) if (child.spec.type === "supervisor") supervisors++;
  return { specs: state.dynamic ? 1 : all.length, active: state.byPid.size, supervisors, workers: all.length - supervisors };
}
