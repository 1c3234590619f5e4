/**
 * What Linux's /proc says about one live process: CPU seconds so far (utime + stime) and its
 * peak resident set (VmHWM). Both are cumulative, so a reading taken just before a process is
 * told to stop holds its whole life; a process that is gone reads as undefined.
 */
import { readFileSync } from "node:fs";

export interface ProcReading {
  readonly cpuSec: number;
  readonly userSec: number;
  readonly sysSec: number;
  readonly peakRssKiB: number;
}

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux the bench runs on. */
const CLOCK_TICKS_PER_SEC = 100;

export function readProc(pid: number): ProcReading | undefined {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || hwm === null) return undefined;
  return {
    userSec: utime / CLOCK_TICKS_PER_SEC,
    sysSec: stime / CLOCK_TICKS_PER_SEC,
    cpuSec: (utime + stime) / CLOCK_TICKS_PER_SEC,
    peakRssKiB: Number(hwm[1]),
  };
}

/**
 * Reads a process every `everyMs` until stopped; `last` is the final reading it saw. Used when
 * /usr/bin/time is missing: the CPU of the last interval before exit is lost (<= everyMs).
 */
export function sampleProc(pid: number, everyMs: number): { last(): ProcReading | undefined; stop(): void } {
  let last = readProc(pid);
  const timer = setInterval(() => {
    last = readProc(pid) ?? last;
  }, everyMs);
  return { last: () => last, stop: () => clearInterval(timer) };
}
