/** The supervisor's client API: start it, and administer its children. */
import { currentRuntime } from "./defaultRuntime.js";
import { RuntimeError } from "./errors.js";
import type { Pid } from "./pid.js";
import { formatReason, type ExitReason } from "./reason.js";
import type { Name } from "./registry.js";
import { startServer, type StartOptions, type StartResult } from "./server.js";
import { supervisorBehaviour } from "./supervisor.js";
import type { AdminReply, ChildCounts, ChildInfo, SupervisorErrorCode, SupervisorRequest } from "./supervisorAdmin.js";
import { validateSupervisorSpec, type ChildSpec, type SupervisorSpec } from "./supervisorSpec.js";

export class SupervisorError extends RuntimeError {
  constructor(
    readonly code: SupervisorErrorCode,
    readonly supervisor: string,
    /** already_started: the running child. */
    readonly pid?: Pid,
    /** start_failed: why. */
    readonly reason?: ExitReason,
    detail?: string,
  ) {
    super(`supervisor ${supervisor}: ${code}${pid === undefined ? "" : ` ${pid.toString()}`}${reason === undefined ? "" : ` (${formatReason(reason)})`}${detail === undefined ? "" : `: ${detail}`}`);
    this.name = "SupervisorError";
  }
}

/**
 * Start a supervisor (linked to the calling actor by default, like supervisor:start_link).
 * An invalid spec rejects with ChildSpecError naming the field; a child that fails to start
 * rejects with StartError {shutdown, {failed_to_start_child, id, reason}}.
 */
export function startSupervisor(spec: SupervisorSpec, options: StartOptions = {}): Promise<Pid> {
  let validated;
  try {
    validated = validateSupervisorSpec(spec);
  } catch (error) {
    return Promise.reject(error);
  }
  return startServer(supervisorBehaviour(validated.flags.name), validated, { timeout: Infinity, ...options }) as Promise<Pid>;
}

async function admin(sup: Pid | Name, request: SupervisorRequest): Promise<unknown> {
  const answer = await currentRuntime().call<AdminReply>(sup, request, Infinity);
  if (answer.ok) return answer.value;
  throw new SupervisorError(answer.code, String(sup), answer.pid, answer.reason, answer.detail);
}

/** A new child from a spec (static strategies), or from the template with extra args (simple_one_for_one). */
export function startChild(sup: Pid | Name, specOrArgs: ChildSpec | readonly unknown[]): Promise<StartResult> {
  const request: SupervisorRequest = Array.isArray(specOrArgs)
    ? { op: "start_dynamic_child", args: specOrArgs as readonly unknown[] }
    : { op: "start_child", spec: specOrArgs };
  return admin(sup, request) as Promise<StartResult>;
}

/** Stop a child (by id, or by pid for simple_one_for_one); its spec is kept unless temporary or dynamic. */
export async function terminateChild(sup: Pid | Name, id: string | Pid): Promise<void> {
  await admin(sup, { op: "terminate_child", id });
}

/** Remove the spec of a stopped child (not for simple_one_for_one). */
export async function deleteChild(sup: Pid | Name, id: string): Promise<void> {
  await admin(sup, { op: "delete_child", id });
}

/** Start again a stopped child whose spec was kept (not for simple_one_for_one). */
export function restartChild(sup: Pid | Name, id: string): Promise<StartResult> {
  return admin(sup, { op: "restart_child", id }) as Promise<StartResult>;
}

export function whichChildren(sup: Pid | Name): Promise<ChildInfo[]> {
  return admin(sup, { op: "which_children" }) as Promise<ChildInfo[]>;
}

export function countChildren(sup: Pid | Name): Promise<ChildCounts> {
  return admin(sup, { op: "count_children" }) as Promise<ChildCounts>;
}
