/**
 * Rate-limited reports (crash reports, supervisor reports) through a token bucket on the
 * runtime's clock. Over the limit a report is counted, not logged; one "suppressed N" summary
 * per window follows. Memory is a few counters, however many processes die at once.
 * Fields name processes `actor` (pino's own `pid` is the OS process id); the summary timer is
 * unref'd, so a summary still pending when the Node process exits is not written.
 */
import type { Clock, TimerHandle } from "./clock.js";

/** The part of a pino logger the runtime uses. */
export interface LogSink {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ReportLimits {
  /** Reports allowed in a burst. */
  burst: number;
  /** Sustained reports per second. */
  perSecond: number;
  /** How long after the first suppressed report the summary is written. */
  summaryAfterMs: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = { burst: 20, perSecond: 10, summaryAfterMs: 1000 };

export type ReportKind =
  | "crash_report"
  | "child_terminated"
  | "start_error"
  | "reached_max_restart_intensity"
  | "shutdown_error"
  | "resource_close_failed"
  | "listener_failed"
  | "unexpected_info";

export class CrashReporter {
  private tokens: number;
  private lastRefill: number;
  private suppressed = 0;
  private readonly suppressedByKind = new Map<ReportKind, number>();
  private summaryTimer: TimerHandle | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly sink: LogSink,
    private readonly limits: ReportLimits = DEFAULT_REPORT_LIMITS,
  ) {
    this.tokens = limits.burst;
    this.lastRefill = clock.now();
  }

  /** Logs the report if the bucket has a token; returns whether it was logged. */
  report(level: "error" | "warn", kind: ReportKind, fields: Record<string, unknown>, msg: string): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.write(level, { report: kind, ...fields }, msg);
      return true;
    }
    this.suppressed++;
    this.suppressedByKind.set(kind, (this.suppressedByKind.get(kind) ?? 0) + 1);
    if (this.summaryTimer === undefined) {
      this.summaryTimer = this.clock.setTimer(this.limits.summaryAfterMs, () => {
        this.summaryTimer = undefined;
        this.flush();
      });
      this.clock.unref?.(this.summaryTimer);
    }
    return false;
  }

  /** Writes the pending "suppressed N" summary now, if any. */
  flush(): void {
    if (this.summaryTimer !== undefined) {
      this.clock.clearTimer(this.summaryTimer);
      this.summaryTimer = undefined;
    }
    if (this.suppressed === 0) return;
    const byKind = Object.fromEntries(this.suppressedByKind);
    const count = this.suppressed;
    this.suppressed = 0;
    this.suppressedByKind.clear();
    this.write("warn", { report: "suppressed", suppressed: count, byKind }, `suppressed ${count} reports`);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.lastRefill;
    if (elapsed <= 0) return;
    this.lastRefill = now;
    this.tokens = Math.min(this.limits.burst, this.tokens + (elapsed * this.limits.perSecond) / 1000);
  }

  private write(level: "error" | "warn", obj: object, msg: string): void {
    try {
      if (level === "error") this.sink.error(obj, msg);
      else this.sink.warn(obj, msg);
    } catch {
      // A failing logger must not take the runtime down with it.
    }
  }
}
