/**
 * The runtime's side of bench:actors: the same four workloads as baseline.ts, written the way
 * an application uses src/runtime (raw actors for messaging, a gen_server child under a
 * one_for_one supervisor for restarts). Every runtime here shares the default scheduler, as
 * every runtime of an application does.
 */
import { pino } from "pino";
import { defineServer, ok, Reason, Runtime, startServer, startSupervisor, supervisorSpec, type Ctx, type LogSink, type Pid } from "../../src/runtime/index.js";
import type { Timed } from "./stats.js";

/** Where crash reports go when they are on: pino, as in src/log.ts, but writing to /dev/null. */
export const NULL_LOG_DESTINATION = "pino.destination({ dest: '/dev/null', sync: false })";
const devNullLog = pino({ name: "bench", level: "info" }, pino.destination({ dest: "/dev/null", sync: false }));

/** Reports are still built and rate-limited, then dropped without serialising. */
const droppedLog: LogSink = { error: () => undefined, warn: () => undefined };

export type ReportMode =
  /** The runtime's default limits (burst 20, 10 per second), pino to /dev/null: the target's setting. */
  | "rateLimited"
  /** Limits raised so that every crash writes both of its reports to pino (/dev/null). */
  | "everyReport"
  /** Reports dropped by the sink: the runtime's own restart path. */
  | "dropped";

function benchRuntime(mode: ReportMode = "rateLimited"): Runtime {
  switch (mode) {
    case "rateLimited":
      return new Runtime({ logger: devNullLog, label: "bench" });
    case "everyReport":
      return new Runtime({ logger: devNullLog, label: "bench", reportLimits: { burst: 1e9, perSecond: 1e9 } });
    case "dropped":
      return new Runtime({ logger: droppedLog, label: "bench" });
  }
}

function idle(): undefined {
  return undefined;
}

/** Spawns count idle actors; they stay alive (in the runtime and the returned array). */
export function runtimeSpawn(count: number): { rt: Runtime; pids: Pid[]; ms: number } {
  const rt = benchRuntime();
  const pids: Pid[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) pids.push(rt.spawn(idle));
  return { rt, pids, ms: performance.now() - started };
}

/** roundTrips ping/pong exchanges between two actors (the ping carries the sender's pid). */
export function runtimePingPong(roundTrips: number): Promise<Timed> {
  const rt = benchRuntime();
  return new Promise((resolve) => {
    let left = roundTrips;
    let started = 0;
    const pong = rt.spawn(function pong(msg: unknown, ctx: Ctx) {
      ctx.send(msg as Pid, "pong");
    });
    const ping = rt.spawn(function ping(_msg: unknown, ctx: Ctx) {
      if (--left === 0) resolve({ ms: performance.now() - started, messages: roundTrips * 2 });
      else ctx.send(pong, ctx.self);
    });
    started = performance.now();
    rt.send(pong, ping);
  });
}

/** A token (the hops left) passed around a ring of size actors, laps times. */
export function runtimeRing(size: number, laps: number): Promise<Timed> {
  const rt = benchRuntime();
  const hops = size * laps;
  return new Promise((resolve) => {
    let started = 0;
    const ring: Pid[] = [];
    for (let i = 0; i < size; i++) {
      const next = (i + 1) % size;
      ring.push(
        rt.spawn((msg, ctx) => {
          const left = msg as number;
          if (left === 0) resolve({ ms: performance.now() - started, messages: hops });
          else ctx.send(ring[next] as Pid, left - 1);
        }),
      );
    }
    started = performance.now();
    rt.send(ring[0] as Pid, hops - 1);
  });
}

const crasher = defineServer<null>({
  name: "crasher",
  init: () => ok(null),
  handleInfo: () => {
    throw new Error("boom");
  },
});

/**
 * crashes times: the gen_server child of a one_for_one supervisor throws in handleInfo; latency
 * = from the send that crashes it to the supervisor's "restarted" event (the new child's init
 * has acked). Each crash writes a crash report and a child_terminated report, per mode.
 */
export async function runtimeRestarts(crashes: number, mode: ReportMode): Promise<number[]> {
  const rt = benchRuntime(mode);
  let restarted: ((event: { pid: Pid; at: number }) => void) | undefined;
  const unsubscribe = rt.subscribe((event) => {
    if (event.type === "restarted" && event.pid !== undefined) restarted?.({ pid: event.pid, at: performance.now() });
  });
  const sup = await startSupervisor(
    supervisorSpec({
      name: "bench_sup",
      strategy: "one_for_one",
      intensity: crashes + 1,
      period: 60_000,
      children: [{ id: "crasher", start: () => startServer(crasher, undefined, { name: "crasher" }) }],
    }),
    { runtime: rt },
  );
  const latencies: number[] = [];
  try {
    let child = rt.whereis("crasher") as Pid;
    for (let i = 0; i < crashes; i++) {
      const done = new Promise<{ pid: Pid; at: number }>((resolve) => (restarted = resolve));
      const started = performance.now();
      rt.send(child, "crash");
      const next = await done;
      latencies.push((next.at - started) * 1000);
      child = next.pid;
    }
  } finally {
    unsubscribe();
    await rt.stop(sup, Reason.shutdown());
  }
  return latencies;
}
