/**
 * Supervisor and child specs as plain data, and their validation at the edge. A supervisor
 * file in supervisors/ is a readable list of child specs:
 *
 *   export const torrentSup = (ih: string) => supervisorSpec({
 *     name: "torrent_sup", strategy: "one_for_all", intensity: 1, period: 60_000,
 *     children: [
 *       { id: "io_sup", type: "supervisor", start: () => startSupervisor(ioSup(ih)) },
 *       { id: "piece_mgr", start: () => startPieceMgr(ih) },
 *     ],
 *   });
 */
import { ChildSpecError } from "./errors.js";
import type { Pid } from "./pid.js";
import type { Awaitable } from "./serverResults.js";

export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one" | "simple_one_for_one";
export type RestartType = "permanent" | "transient" | "temporary";
/** brutal_kill = exit(kill); a number = exit(shutdown), wait that many ms for the exit, then kill; infinity = wait forever. */
export type Shutdown = "brutal_kill" | "infinity" | number;
export type ChildType = "worker" | "supervisor";
export type AutoShutdown = "never" | "any_significant" | "all_significant";

export interface ChildSpec {
  readonly id: string;
  /**
   * Starts the child and resolves with its Pid (linked to the supervisor: startServer and
   * startSupervisor link to the calling supervisor by default) or "ignore". For
   * simple_one_for_one, receives the extra args given to startChild.
   */
  start(...args: never[]): Awaitable<Pid | "ignore">;
  /** Default permanent. */
  readonly restart?: RestartType;
  /** Default 5000 for workers, infinity for supervisors. */
  readonly shutdown?: Shutdown;
  /** Default worker. */
  readonly type?: ChildType;
  /** With autoShutdown, this child's exit can stop the supervisor (transient/temporary only). */
  readonly significant?: boolean;
}

export interface SupervisorSpec {
  /** Behaviour label in snapshots and reports (e.g. "torrent_sup"). Default "supervisor". */
  readonly name?: string;
  readonly strategy: Strategy;
  /** Restarts allowed within period (default 1). */
  readonly intensity?: number;
  /** Window in ms (default 5000). */
  readonly period?: number;
  /** Default never. */
  readonly autoShutdown?: AutoShutdown;
  /** In start order; simple_one_for_one takes exactly one (the template). */
  readonly children: readonly ChildSpec[];
}

/** Identity, for type checking and readability of supervisors/*.ts files. Validation happens at start. */
export function supervisorSpec(spec: SupervisorSpec): SupervisorSpec {
  return spec;
}

export interface NormalizedChild {
  readonly id: string;
  readonly start: (...args: readonly unknown[]) => unknown;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: ChildType;
  readonly significant: boolean;
}

export interface SupervisorFlags {
  readonly name: string;
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
  readonly autoShutdown: AutoShutdown;
}

const STRATEGIES: readonly string[] = ["one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"];
const RESTARTS: readonly string[] = ["permanent", "transient", "temporary"];
const TYPES: readonly string[] = ["worker", "supervisor"];
const AUTO_SHUTDOWNS: readonly string[] = ["never", "any_significant", "all_significant"];

function field(obj: object, key: string): unknown {
  return (obj as Record<string, unknown>)[key];
}

function oneOf(value: unknown, allowed: readonly string[], childId: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === "string" && allowed.includes(value)) return value;
  throw new ChildSpecError(childId, name, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")} (got ${show(value)})`);
}

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function validateFlags(spec: unknown): SupervisorFlags {
  if (typeof spec !== "object" || spec === null) throw new ChildSpecError(undefined, "spec", `must be an object (got ${show(spec)})`);
  const strategy = oneOf(field(spec, "strategy"), STRATEGIES, undefined, "strategy", "") as Strategy;
  if (field(spec, "strategy") === undefined) throw new ChildSpecError(undefined, "strategy", "is required");
  const intensity = field(spec, "intensity") ?? 1;
  if (typeof intensity !== "number" || !Number.isInteger(intensity) || intensity < 0) {
    throw new ChildSpecError(undefined, "intensity", `must be a non-negative integer (got ${show(intensity)})`);
  }
  const period = field(spec, "period") ?? 5000;
  if (typeof period !== "number" || !(period > 0) || !Number.isFinite(period)) {
    throw new ChildSpecError(undefined, "period", `must be a positive number of milliseconds (got ${show(period)})`);
  }
  const autoShutdown = oneOf(field(spec, "autoShutdown"), AUTO_SHUTDOWNS, undefined, "autoShutdown", "never") as AutoShutdown;
  const name = field(spec, "name") ?? "supervisor";
  if (typeof name !== "string" || name.length === 0) throw new ChildSpecError(undefined, "name", `must be a non-empty string (got ${show(name)})`);
  return { name, strategy, intensity, period, autoShutdown };
}

/** Validates one child spec against the supervisor's flags; throws ChildSpecError naming the field. */
export function validateChild(spec: unknown, flags: SupervisorFlags): NormalizedChild {
  if (typeof spec !== "object" || spec === null) throw new ChildSpecError(undefined, "child", `must be an object (got ${show(spec)})`);
  const id = field(spec, "id");
  if (typeof id !== "string" || id.length === 0) throw new ChildSpecError(undefined, "id", `must be a non-empty string (got ${show(id)})`);
  const start = field(spec, "start");
  if (typeof start !== "function") throw new ChildSpecError(id, "start", `must be a function returning a Pid or "ignore" (got ${show(start)})`);
  const restart = oneOf(field(spec, "restart"), RESTARTS, id, "restart", "permanent") as RestartType;
  const type = oneOf(field(spec, "type"), TYPES, id, "type", "worker") as ChildType;
  const shutdown = field(spec, "shutdown") ?? (type === "supervisor" ? "infinity" : 5000);
  if (!(shutdown === "brutal_kill" || shutdown === "infinity" || (typeof shutdown === "number" && Number.isInteger(shutdown) && shutdown >= 0))) {
    throw new ChildSpecError(id, "shutdown", `must be "brutal_kill", "infinity" or a non-negative integer of ms (got ${show(shutdown)})`);
  }
  const significant = field(spec, "significant") ?? false;
  if (typeof significant !== "boolean") throw new ChildSpecError(id, "significant", `must be a boolean (got ${show(significant)})`);
  if (significant && flags.autoShutdown === "never") {
    throw new ChildSpecError(id, "significant", `is only allowed when the supervisor's autoShutdown is not "never"`);
  }
  if (significant && restart === "permanent") {
    throw new ChildSpecError(id, "significant", "is only allowed for transient or temporary children");
  }
  return { id, start: start as (...args: readonly unknown[]) => unknown, restart, shutdown, type, significant };
}

/** Validates a whole spec: flags, every child, unique ids, one template for simple_one_for_one. */
export function validateSupervisorSpec(spec: unknown): { flags: SupervisorFlags; children: NormalizedChild[] } {
  const flags = validateFlags(spec);
  const rawChildren = field(spec as object, "children");
  if (!Array.isArray(rawChildren)) throw new ChildSpecError(undefined, "children", `must be an array (got ${show(rawChildren)})`);
  if (flags.strategy === "simple_one_for_one" && rawChildren.length !== 1) {
    throw new ChildSpecError(undefined, "children", `must hold exactly one template child for simple_one_for_one (got ${rawChildren.length})`);
  }
  const children: NormalizedChild[] = [];
  const seen = new Set<string>();
  for (const raw of rawChildren as unknown[]) {
    const child = validateChild(raw, flags);
    if (seen.has(child.id)) throw new ChildSpecError(child.id, "id", "is not unique within the supervisor");
    seen.add(child.id);
    children.push(child);
  }
  return { flags, children };
}
