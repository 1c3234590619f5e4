/**
 * Free functions on the current runtime (the calling actor's, else the default one). Pids
 * route to their own runtime whatever the current one is; names resolve in the current one.
 */
import { replyTo as reply, type From } from "./call.js";
import type { Handler, SpawnOptions } from "./context.js";
import { currentRuntime } from "./defaultRuntime.js";
import { currentProc } from "./proc.js";
import type { Pid } from "./pid.js";
import { Reason, type ExitReason } from "./reason.js";
import type { Name } from "./registry.js";
import type { TimerRef } from "./timers.js";

export function spawn(handler: Handler, options?: SpawnOptions): Pid {
  return currentRuntime().spawn(handler, options);
}

export function send(to: Pid | Name, msg: unknown): void {
  currentRuntime().send(to, msg);
}

export function cast(to: Pid | Name, msg: unknown): void {
  currentRuntime().cast(to, msg);
}

export function call<R = unknown>(to: Pid | Name, request: unknown, timeoutMs?: number): Promise<R> {
  return currentRuntime().call<R>(to, request, timeoutMs);
}

export function replyTo(from: From, value: unknown): void {
  reply(from, value);
}

export function exit(pid: Pid, reason: ExitReason): void {
  currentRuntime().exit(pid, reason);
}

export function stop(to: Pid | Name, reason: ExitReason = Reason.normal, timeoutMs?: number): Promise<ExitReason> {
  return currentRuntime().stop(to, reason, timeoutMs);
}

export function whereis(name: Name): Pid | undefined {
  return currentRuntime().whereis(name);
}

export function sendAfter(to: Pid, ms: number, msg: unknown): TimerRef {
  return currentRuntime().sendAfter(to, ms, msg);
}

export function cancelTimer(ref: TimerRef): number | false {
  return currentRuntime().cancelTimer(ref);
}

/** The calling actor's pid (Erlang self()), or undefined outside any actor's turn. Read it before an await. */
export function self(): Pid | undefined {
  return currentProc()?.pid;
}
