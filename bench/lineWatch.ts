/**
 * A benchmark child's stdout as awaitable lines: every line is kept (up to `maxLines`) and
 * `waitFor` resolves with the first line, past or future, that `pick` maps to a value. It
 * rejects on a timeout, or when the process exited and its stdout ended first (its last
 * lines may arrive after the exit event, so both are awaited). Shared by bench:pair and
 * bench:fanout.
 */
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

export interface LineWatch {
  readonly lines: readonly string[];
  /** Resolves when stdout ended. */
  readonly closed: Promise<void>;
  waitFor<T>(pick: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T>;
}

export function watchLines(stdout: Readable, exited: Promise<number>, logFile: string, maxLines = Infinity): LineWatch {
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  const reader = createInterface({ input: stdout });
  reader.on("line", (line) => {
    if (lines.length < maxLines) lines.push(line);
    for (const listener of listeners) listener(line);
  });
  const closed = new Promise<void>((resolve) => reader.once("close", resolve));

  function waitFor<T>(pick: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    for (const line of lines) {
      const value = pick(line);
      if (value !== undefined) return Promise.resolve(value);
    }
    return new Promise<T>((resolve, reject) => {
      const finish = (outcome: () => void): void => {
        clearTimeout(timer);
        listeners.delete(onLine);
        outcome();
      };
      const onLine = (line: string): void => {
        const value = pick(line);
        if (value !== undefined) finish(() => resolve(value));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${what}: nothing after ${timeoutMs / 1000} s (log: ${logFile})`))), timeoutMs);
      listeners.add(onLine);
      void Promise.all([exited, closed]).then(([code]) => finish(() => reject(new Error(`${what}: the process exited (code ${code}) first (log: ${logFile})`))));
    });
  }

  return { lines, closed, waitFor };
}
