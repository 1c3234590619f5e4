/**
 * How the parent starts swarm members: in this process (each on its own Runtime) or each in
 * its own OS process (`swarmsup swarm-node` over Node's IPC channel). Both give the same
 * handle and the same reports, so the run (run.ts) does not know which it has.
 *
 * Process mode guarantees: a member that does not say `ready` within START_TIMEOUT_MS, or
 * that fails, rejects its start (and is killed); `stop` asks for the final report and kills
 * the process if it has not given it within STOP_TIMEOUT_MS; `crash` is SIGKILL, resolved
 * once the process is gone; every message from a child is read back field by field.
 */
import { fork, type ChildProcess } from "node:child_process";
import { startAgent } from "./agent.js";
import { readReport, type NodeCommand, type NodeFinal, type NodePlan, type NodeReport } from "./messages.js";

export type FleetMode = "process" | "inprocess";

export interface MemberHandle {
  /** The listener port and the proxy port (when there is one): a restart asks for them again. */
  readonly port: number;
  readonly proxyPort: number | undefined;
  /** The OS process (in-process mode: the parent's). */
  readonly pid: number;
  stop(): Promise<NodeFinal>;
  /** SIGKILL of the whole member (process mode only). */
  crash(): Promise<void>;
}

export interface Fleet {
  readonly mode: FleetMode;
  /** Resolves once the member is ready (listening, torrent added). */
  start(plan: NodePlan, onReport: (report: NodeReport) => void): Promise<MemberHandle>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export function inProcessFleet(): Fleet {
  return {
    mode: "inprocess",
    async start(plan, onReport) {
      let ready: Extract<NodeReport, { t: "ready" }> | undefined;
      const agent = await startAgent(plan, (r) => {
        if (r.t === "ready") ready = r;
        onReport(r);
      });
      if (ready === undefined) throw new Error(`${plan.label}: started without saying ready`);
      return {
        port: ready.port,
        proxyPort: ready.proxyPort,
        pid: process.pid,
        stop: () => bounded(agent.stop(), STOP_TIMEOUT_MS, `${plan.label}: did not stop within ${STOP_TIMEOUT_MS / 1000} s`),
        crash: () => Promise.reject(new Error("a whole-node crash needs --mode process")),
      };
    },
  };
}

async function bounded<T>(work: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `entry` is the swarmsup CLI's main script (the child runs `<entry> swarm-node`). */
export function processFleet(entry: string, env: NodeJS.ProcessEnv): Fleet {
  return {
    mode: "process",
    start: (plan, onReport) => startChild(entry, env, plan, onReport),
  };
}

function startChild(entry: string, env: NodeJS.ProcessEnv, plan: NodePlan, onReport: (report: NodeReport) => void): Promise<MemberHandle> {
  const child = fork(entry, ["swarm-node"], { env, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let finalWaiter: ((final: NodeFinal) => void) | undefined;
  let failWaiters: ((error: Error) => void)[] = [];
  const fail = (error: Error): void => {
    const waiters = failWaiters;
    failWaiters = [];
    for (const w of waiters) w(error);
  };
  child.on("message", (raw: unknown) => {
    let report: NodeReport;
    try {
      report = readReport(raw);
    } catch (error) {
      fail(new Error(`${plan.label}: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    if (report.t === "final") finalWaiter?.(report.final);
    if (report.t === "failed") fail(new Error(`${plan.label}: ${report.message}`));
    onReport(report);
  });
  child.once("exit", (code, signal) => fail(new Error(`${plan.label}: the node process exited (${signal ?? code})`)));
  child.send({ t: "start", plan } satisfies NodeCommand);

  return new Promise<MemberHandle>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${plan.label}: not ready within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    failWaiters.push((error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    });
    const onReady = (raw: unknown): void => {
      let report: NodeReport;
      try {
        report = readReport(raw);
      } catch {
        return; // reported by the main listener
      }
      if (report.t !== "ready") return;
      clearTimeout(timer);
      child.off("message", onReady);
      failWaiters = [];
      resolve(handleOf(child, exited, report, plan.label, (w) => (finalWaiter = w), (w) => failWaiters.push(w)));
    };
    child.on("message", onReady);
  });
}

function handleOf(
  child: ChildProcess,
  exited: Promise<void>,
  ready: Extract<NodeReport, { t: "ready" }>,
  label: string,
  onFinal: (w: (final: NodeFinal) => void) => void,
  onFail: (w: (error: Error) => void) => void,
): MemberHandle {
  return {
    port: ready.port,
    proxyPort: ready.proxyPort,
    pid: ready.pid,
    stop(): Promise<NodeFinal> {
      return new Promise<NodeFinal>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`${label}: no final report within ${STOP_TIMEOUT_MS / 1000} s`));
        }, STOP_TIMEOUT_MS);
        let final: NodeFinal | undefined;
        onFinal((f) => {
          final = f;
          clearTimeout(timer);
          // The child exits by itself after sending it; wait, so no process outlives the run.
          void exited.then(() => resolve(f));
        });
        onFail((error) => {
          if (final !== undefined) return; // its exit after the final report is the orderly end
          clearTimeout(timer);
          reject(error);
        });
        if (child.connected) child.send({ t: "stop" } satisfies NodeCommand);
        else reject(new Error(`${label}: the node process is gone`));
      });
    },
    async crash(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
