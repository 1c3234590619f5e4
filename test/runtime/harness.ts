/** A runtime on a manual clock with a recording logger, for deterministic tests. */
import { advance, ManualClock, Runtime, settle, type LogSink, type ReportLimits } from "../../src/runtime/index.js";

export interface LogLine {
  readonly level: "error" | "warn";
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

export interface Harness {
  readonly rt: Runtime;
  readonly clock: ManualClock;
  readonly logs: LogLine[];
  settle(): Promise<void>;
  advance(ms: number): Promise<void>;
  /** Log lines of one report kind. */
  reports(kind: string): LogLine[];
}

export function harness(reportLimits?: Partial<ReportLimits>): Harness {
  const clock = new ManualClock();
  const logs: LogLine[] = [];
  const logger: LogSink = {
    error: (obj, msg) => logs.push({ level: "error", obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => logs.push({ level: "warn", obj: obj as Record<string, unknown>, msg }),
  };
  const rt = new Runtime({ clock, logger, reportLimits: reportLimits ?? { burst: 1_000_000, perSecond: 1_000_000 } });
  return {
    rt,
    clock,
    logs,
    settle: () => settle(rt.scheduler),
    advance: (ms) => advance(clock, ms, rt.scheduler),
    reports: (kind) => logs.filter((l) => l.obj.report === kind),
  };
}

/** A deferred promise, to wait for an event without sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
