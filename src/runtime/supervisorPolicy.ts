/**
 * The supervisor's decisions, pure: what an exit means for a child and its siblings, and
 * whether the restart intensity is exceeded. The executor (supervisor.ts) performs them.
 */
import { classifyReason, type ExitReason } from "./reason.js";
import type { AutoShutdown, RestartType, Strategy } from "./supervisorSpec.js";

/** MaxR restarts within MaxT: the timestamps (ms) of recent restarts, newest last. */
export type IntensityVerdict =
  | { readonly kind: "withinLimit"; readonly window: readonly number[] }
  | { readonly kind: "exceeded"; readonly restarts: number };

/** OTP's add_restart: keep restarts newer than now - period, add now; more than intensity is too many. */
export function addRestart(window: readonly number[], now: number, intensity: number, period: number): IntensityVerdict {
  const threshold = now - period;
  const kept = window.filter((t) => t > threshold);
  kept.push(now);
  return kept.length > intensity ? { kind: "exceeded", restarts: kept.length } : { kind: "withinLimit", window: kept };
}

export interface ExitedChild {
  readonly restart: RestartType;
  readonly significant: boolean;
}

export type ExitVerdict =
  /** A temporary child: never restarted, its spec forgotten. */
  | { readonly kind: "forget" }
  /** A transient child that ended normally or by shutdown: spec kept, not restarted. */
  | { readonly kind: "keepStopped" }
  /** A significant child ended for good: the supervisor exits shutdown (auto_shutdown). */
  | { readonly kind: "autoShutdown" }
  /** Restart, with the new intensity window. */
  | { readonly kind: "restart"; readonly window: readonly number[] }
  /** Too many restarts: stop every child and exit shutdown (the parent decides next). */
  | { readonly kind: "giveUp"; readonly restarts: number };

export interface ExitContext {
  readonly child: ExitedChild;
  readonly reason: ExitReason;
  readonly autoShutdown: AutoShutdown;
  /** Whether another significant child is still running (for all_significant). */
  readonly otherSignificantRunning: boolean;
  readonly window: readonly number[];
  readonly now: number;
  readonly intensity: number;
  readonly period: number;
}

export function analyzeExit(ctx: ExitContext): ExitVerdict {
  const { child, reason } = ctx;
  const stays =
    child.restart === "temporary" || (child.restart === "transient" && classifyReason(reason) !== "abnormal");
  if (stays) {
    if (child.significant && shutsDownOnSignificantExit(ctx.autoShutdown, ctx.otherSignificantRunning)) {
      return { kind: "autoShutdown" };
    }
    return child.restart === "temporary" ? { kind: "forget" } : { kind: "keepStopped" };
  }
  return restartOrGiveUp(ctx.window, ctx.now, ctx.intensity, ctx.period);
}

export function restartOrGiveUp(
  window: readonly number[],
  now: number,
  intensity: number,
  period: number,
): Extract<ExitVerdict, { kind: "giveUp" | "restart" }> {
  const verdict = addRestart(window, now, intensity, period);
  return verdict.kind === "exceeded" ? { kind: "giveUp", restarts: verdict.restarts } : { kind: "restart", window: verdict.window };
}

function shutsDownOnSignificantExit(mode: AutoShutdown, otherSignificantRunning: boolean): boolean {
  switch (mode) {
    case "never":
      return false;
    case "any_significant":
      return true;
    case "all_significant":
      return !otherSignificantRunning;
  }
}

export interface GroupMember {
  readonly restart: RestartType;
  readonly running: boolean;
}

/** Which siblings a restart of children[failed] involves, by strategy. */
export interface RestartGroup<T> {
  /** Running siblings to terminate first, in reverse start order. */
  readonly stop: readonly T[];
  /** Temporary siblings in the group: terminated (if running) and forgotten, not restarted. */
  readonly forget: readonly T[];
  /** Children to start again, in start order (the failed one included). */
  readonly start: readonly T[];
}

export function restartGroup<T extends GroupMember>(strategy: Strategy, children: readonly T[], failed: number): RestartGroup<T> {
  const self = children[failed];
  if (self === undefined) return { stop: [], forget: [], start: [] };
  if (strategy === "one_for_one" || strategy === "simple_one_for_one") return { stop: [], forget: [], start: [self] };
  const group = strategy === "one_for_all" ? children : children.slice(failed);
  const siblings = group.filter((c) => c !== self);
  return {
    stop: siblings.filter((c) => c.running).reverse(),
    forget: siblings.filter((c) => c.restart === "temporary"),
    start: group.filter((c) => c === self || c.restart !== "temporary"),
  };
}
