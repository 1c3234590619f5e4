/**
 * Exit reasons, OTP's taxonomy as a tagged union.
 *
 * - normal: the process finished; ignored by linked processes that do not trap exits.
 * - shutdown / {shutdown, detail}: an orderly stop asked by a supervisor or a parent; not a crash,
 *   never reported, never restarts a transient child.
 * - kill: only as a *signal* (`exit(pid, kill)`), it cannot be trapped; the victim dies with `killed`.
 * - killed: how a killed process looks to its links and monitors (trappable, abnormal).
 * - noproc: the target was already dead (monitor of a dead pid, call to a dead pid or unknown name).
 * - error: anything else, abnormal (a throw, a rejected promise, an abnormal stop).
 */
export type ExitReason =
  | { readonly kind: "normal" }
  | { readonly kind: "shutdown"; readonly detail?: unknown }
  | { readonly kind: "kill" }
  | { readonly kind: "killed" }
  | { readonly kind: "noproc" }
  | { readonly kind: "error"; readonly error: unknown };

export type ReasonKind = ExitReason["kind"];

/** How OTP treats a reason: `normal`, an orderly `shutdown`, or `abnormal` (reported; restarts transients). */
export type ReasonClass = "normal" | "shutdown" | "abnormal";

const NORMAL: ExitReason = Object.freeze({ kind: "normal" });
const SHUTDOWN: ExitReason = Object.freeze({ kind: "shutdown" });
const KILL: ExitReason = Object.freeze({ kind: "kill" });
const KILLED: ExitReason = Object.freeze({ kind: "killed" });
const NOPROC: ExitReason = Object.freeze({ kind: "noproc" });

/** Constructors. The argument-free ones are frozen singletons (compare by `kind`, not identity). */
export const Reason = {
  normal: NORMAL,
  kill: KILL,
  killed: KILLED,
  noproc: NOPROC,
  shutdown(detail?: unknown): ExitReason {
    return detail === undefined ? SHUTDOWN : { kind: "shutdown", detail };
  },
  error(error: unknown): ExitReason {
    return { kind: "error", error };
  },
} as const;

export function classifyReason(reason: ExitReason): ReasonClass {
  switch (reason.kind) {
    case "normal":
      return "normal";
    case "shutdown":
      return "shutdown";
    case "kill":
    case "killed":
    case "noproc":
    case "error":
      return "abnormal";
  }
}

/** True for what OTP calls an abnormal exit: reported, propagated to links, restarts transient children. */
export function isAbnormal(reason: ExitReason): boolean {
  return classifyReason(reason) === "abnormal";
}

const REASON_KINDS: ReadonlySet<string> = new Set(["normal", "shutdown", "kill", "killed", "noproc", "error"]);

/** Edge check for values that claim to be a reason (results returned by user handlers). */
export function isExitReason(value: unknown): value is ExitReason {
  if (typeof value !== "object" || value === null) return false;
  const kind: unknown = (value as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !REASON_KINDS.has(kind)) return false;
  return kind !== "error" || "error" in value;
}

/** One line for logs and CallError messages. */
export function formatReason(reason: ExitReason): string {
  switch (reason.kind) {
    case "shutdown":
      return reason.detail === undefined ? "shutdown" : `{shutdown, ${describeValue(reason.detail)}}`;
    case "error":
      return `error: ${describeValue(reason.error)}`;
    default:
      return reason.kind;
  }
}

function describeValue(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string") return value;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch {
    return String(value);
  }
}
