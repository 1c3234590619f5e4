/**
 * Long-lived children for bench:fanout: each in its own process group, its stdout lines kept
 * (bounded) and awaitable, its CPU (utime+stime) and peak RSS read from /proc just before it
 * is told to stop, so a leecher that keeps serving after it finished is measured for its whole
 * life. `killAllChildren` ends whatever an aborted run left (only processes this bench started).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Command } from "../pair/peers.js";
import { readProc, type ProcReading } from "../pair/procfs.js";
import { watchLines } from "../lineWatch.js";

const live = new Set<ChildProcess>();
/** A child talks a few lines (READY, FINISHED, RESULT); more than this is noise we drop. */
const MAX_LINES = 1000;

export function killAllChildren(): void {
  for (const child of live) if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface Child {
  readonly pid: number;
  readonly lines: readonly string[];
  /** Resolves with the first line `pick` maps to a value; rejects on exit or timeout. */
  waitFor<T>(pick: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T>;
  /** Reads /proc, sends SIGTERM, waits for the exit (SIGKILL after 10 s) and stdout's end. */
  stop(): Promise<ProcReading>;
}

export function startChild(command: Command, logFile: string): Child {
  const stderr = openSync(logFile, "a");
  const child = spawn(command.file, [...command.args], { stdio: ["ignore", "pipe", stderr], detached: true, env: { ...process.env, SWARMSUP_LOG: process.env.SWARMSUP_LOG ?? "warn" } });
  closeSync(stderr);
  const pid = child.pid;
  if (pid === undefined || child.stdout === null) throw new Error(`could not start ${command.file}`);
  const groupPid: number = pid;
  live.add(child);
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code ?? -1;
      live.delete(child);
      resolve(exitCode);
    }),
  );
  const { lines, closed, waitFor } = watchLines(child.stdout, exited, logFile, MAX_LINES);

  async function stop(): Promise<ProcReading> {
    const reading = readProc(groupPid);
    if (exitCode === undefined) child.kill("SIGTERM");
    const grace = setTimeout(() => {
      if (exitCode === undefined) signalGroup(groupPid, "SIGKILL");
    }, 10_000);
    await Promise.all([exited, closed]);
    clearTimeout(grace);
    if (reading === undefined) throw new Error(`pid ${groupPid}: /proc unreadable at stop (log: ${logFile})`);
    return reading;
  }

  return { pid, lines, waitFor, stop };
}
