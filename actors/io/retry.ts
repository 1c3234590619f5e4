/**
 * Retrying an IO call while its file-IO worker is dead or being restarted by io_sup.
 * The verdict is pure; the runner waits on the runtime's clock (a ManualClock in tests).
 */
import { CallError, type Clock } from "../../src/runtime/index.js";
import { callerAlive, runtimeOf, type IoCaller } from "./caller.js";
import { IoRetriesExhaustedError } from "./errors.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt; each later one waits `stepMs` more, up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly stepMs: number;
  readonly maxDelayMs: number;
}

/**
 * 20 attempts over ~7.75 s (50, 100, ... 500 ms, then 500 ms): a restart is immediate, so
 * the second attempt normally lands; a worker that keeps dying meanwhile makes io_sup
 * reach its intensity (10 in 10 s) well before the last attempt, and the torrent stops.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 20, firstDelayMs: 50, stepMs: 50, maxDelayMs: 500 };

export type RetryVerdict =
  | { readonly kind: "retry"; readonly attempt: number; readonly delayMs: number; readonly cause: string }
  /** Not a worker death (a refusal, a timeout, the torrent shutting down): retrying cannot help. */
  | { readonly kind: "fail"; readonly error: unknown }
  | { readonly kind: "exhausted"; readonly attempts: number; readonly error: unknown };

/** Pure: what to do after attempt `attempt` (1-based) failed with `error`. */
export function retryVerdict(error: unknown, attempt: number, policy: RetryPolicy): RetryVerdict {
  if (!(error instanceof CallError)) return { kind: "fail", error };
  const reason = error.reason;
  switch (reason.kind) {
    case "noproc":
    case "killed":
    case "kill":
    case "error":
    case "normal":
      if (attempt >= policy.attempts) return { kind: "exhausted", attempts: attempt, error };
      return {
        kind: "retry",
        attempt: attempt + 1,
        delayMs: Math.min(policy.maxDelayMs, policy.firstDelayMs + (attempt - 1) * policy.stepMs),
        cause: reason.kind,
      };
    case "shutdown":
    case "timeout":
    case "calling_self":
      return { kind: "fail", error };
    default: {
      const never: never = reason;
      return { kind: "fail", error: never };
    }
  }
}

export interface RetryEvent {
  /** What is retried, e.g. "write piece 3 file 2 [0, +1024)". */
  readonly what: string;
  /** The attempt about to run after the delay. */
  readonly attempt: number;
  readonly delayMs: number;
  /** The failed attempt's exit reason kind (noproc, killed, error...). */
  readonly cause: string;
}

function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimer(ms, resolve));
}

/**
 * Runs attempt until it succeeds or the verdict says stop. If the calling actor exits while
 * waiting, the work is abandoned (never settles), as the runtime abandons a dead actor's calls.
 */
export async function withRetry<T>(
  via: IoCaller,
  what: string,
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  onRetry?: (event: RetryEvent) => void,
): Promise<T> {
  const clock = runtimeOf(via).clock;
  for (let n = 1; n <= policy.attempts; n++) {
    try {
      return await attempt();
    } catch (error) {
      const verdict = retryVerdict(error, n, policy);
      switch (verdict.kind) {
        case "fail":
          throw verdict.error;
        case "exhausted":
          throw new IoRetriesExhaustedError(what, verdict.attempts, verdict.error);
        case "retry":
          onRetry?.({ what, attempt: verdict.attempt, delayMs: verdict.delayMs, cause: verdict.cause });
          await delay(clock, verdict.delayMs);
          if (!callerAlive(via)) return new Promise<never>(() => undefined);
          break;
        default: {
          const never: never = verdict;
          throw new Error(`unknown retry verdict ${JSON.stringify(never)}`);
        }
      }
    }
  }
  throw new IoRetriesExhaustedError(what, policy.attempts, undefined);
}
