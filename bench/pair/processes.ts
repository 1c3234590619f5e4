/**
 * Starting and measuring the bench's child processes. Every child runs in its own process
 * group and is remembered until it exits, so `killAll` can end whatever an aborted run left
 * (never anything the bench did not start). A seed is measured from /proc just before it is
 * told to stop; a downloader runs under /usr/bin/time (rusage of the exact process, taken
 * at exit) or, if that is missing, is polled through /proc every 50 ms.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { Command } from "./peers.js";
import { readProc, sampleProc, type ProcReading } from "./procfs.js";
import { watchLines } from "../lineWatch.js";

const TIME_BIN = "/usr/bin/time";
export const MEASURED_BY = existsSync(TIME_BIN) ? "/usr/bin/time" : "/proc polling (50 ms)";

const live = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of live) {
    if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

interface Watched {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (a signal counts as -1). */
  readonly exited: Promise<number>;
  /** Kills the process group unless the process already exited (so a reused pid is never hit). */
  kill(): void;
  /** Resolves with the first stdout line (past or future) `pick` maps to a value; rejects on exit or timeout. */
  waitFor<T>(pick: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T>;
}

function start(command: Command, logFile: string): Watched {
  const stderr = openSync(logFile, "a");
  const child = spawn(command.file, [...command.args], {
    stdio: ["ignore", "pipe", stderr],
    detached: true,
    env: { ...process.env, SWARMSUP_LOG: process.env.SWARMSUP_LOG ?? "warn" },
  });
  closeSync(stderr);
  const pid = child.pid;
  if (pid === undefined || child.stdout === null) throw new Error(`could not start ${command.file}`);
  live.add(child);
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once("exit", (code) => {
      done = true;
      live.delete(child);
      resolve(code ?? -1);
    });
  });
  const { waitFor } = watchLines(child.stdout, exited, logFile);
  const kill = (): void => {
    if (!done) signalGroup(pid, "SIGKILL");
  };
  return { child, pid, exited, kill, waitFor };
}

export interface SeedFigures {
  /** VmHWM read just before the stop signal. */
  readonly peakRssKiB: number;
  /** CPU used between "ready" and the stop signal: serving the download, not the start-up check. */
  readonly transferCpuSec: number;
}

export interface RunningSeed {
  readonly port: number;
  stop(): Promise<SeedFigures>;
}

export async function startSeed(command: Command, readyPort: (line: string) => number | undefined, logFile: string, readyTimeoutMs: number): Promise<RunningSeed> {
  const seed = start(command, logFile);
  let port: number;
  try {
    port = await seed.waitFor(readyPort, readyTimeoutMs, "seed ready");
  } catch (err) {
    seed.kill();
    await seed.exited;
    throw err;
  }
  const atReady = readProc(seed.pid);
  return {
    port,
    async stop(): Promise<SeedFigures> {
      const atStop = readProc(seed.pid);
      seed.child.kill("SIGTERM");
      const grace = setTimeout(() => seed.kill(), 15_000);
      await seed.exited;
      clearTimeout(grace);
      if (atReady === undefined || atStop === undefined) throw new Error(`seed ${seed.pid}: /proc unreadable`);
      return { peakRssKiB: atStop.peakRssKiB, transferCpuSec: atStop.cpuSec - atReady.cpuSec };
    },
  };
}

export interface DownloadFigures {
  /** From spawning the downloader to its "complete" line. */
  readonly wallSec: number;
  /** swarmsup get's own `seconds` (from the start of its command action), if it gave one. */
  readonly selfReportedSec: number | undefined;
  /** The whole process's CPU, start-up and shutdown included. */
  readonly userSec: number;
  readonly sysSec: number;
  readonly peakRssKiB: number;
}

type Complete = { readonly selfReportedSec: number | undefined };

export async function runDownloader(command: Command, complete: (line: string) => Complete | undefined, logFile: string, timeoutMs: number): Promise<DownloadFigures> {
  const timeFile = `${logFile}.time`;
  const wrapped: Command = MEASURED_BY === TIME_BIN ? { file: TIME_BIN, args: ["-f", "%e %U %S %M", "-o", timeFile, command.file, ...command.args] } : command;
  const startedAt = performance.now();
  const downloader = start(wrapped, logFile);
  const sampler = MEASURED_BY === TIME_BIN ? undefined : sampleProc(downloader.pid, 50);
  const killer = setTimeout(() => downloader.kill(), timeoutMs + 5_000);
  try {
    const done = await downloader.waitFor(complete, timeoutMs, "download complete");
    const wallSec = (performance.now() - startedAt) / 1000;
    const code = await downloader.exited;
    if (code !== 0) throw new Error(`downloader exited with code ${code} after completing (log: ${logFile})`);
    const usage = sampler === undefined ? timeReading(timeFile) : sampler.last();
    if (usage === undefined) throw new Error(`no CPU/RSS reading for the downloader (log: ${logFile})`);
    return { wallSec, selfReportedSec: done.selfReportedSec, userSec: usage.userSec, sysSec: usage.sysSec, peakRssKiB: usage.peakRssKiB };
  } finally {
    clearTimeout(killer);
    sampler?.stop();
    downloader.kill();
  }
}

/** The last line of `/usr/bin/time -f "%e %U %S %M"` (a "Command exited with ..." line may precede it). */
function timeReading(file: string): ProcReading | undefined {
  const last = readFileSync(file, "utf8").trim().split("\n").at(-1) ?? "";
  const [, user, sys, maxRss] = last.split(" ").map(Number);
  if (user === undefined || sys === undefined || maxRss === undefined || [user, sys, maxRss].some((n) => !Number.isFinite(n))) return undefined;
  return { userSec: user, sysSec: sys, cpuSec: user + sys, peakRssKiB: maxRss };
}
