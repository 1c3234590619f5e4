/** What a handler can do: the actor context, passed to every handler (the process itself). */
import type { From } from "./call.js";
import type { Pid, Ref } from "./pid.js";
import type { ExitReason } from "./reason.js";
import type { Name } from "./registry.js";
import type { Resource } from "./resources.js";
import type { Runtime } from "./runtime.js";
import type { TimerRef } from "./timers.js";

/** A raw actor's handler: return a thenable to handle the message asynchronously (the actor waits for it). */
export type Handler = (msg: unknown, ctx: Ctx) => unknown;

export interface SpawnOptions {
  /** Registered before the first message; a taken name throws NameTakenError and nothing is spawned. */
  name?: Name;
  trapExit?: boolean;
  /** Label for introspection (default: the handler's function name or "actor"). */
  behaviour?: string;
}

export interface Ctx {
  readonly self: Pid;
  readonly runtime: Runtime;
  /** The process that started this one (its supervisor for a supervised child), if any. */
  readonly parent: Pid | undefined;
  readonly trappingExits: boolean;

  /** Send a message (handled by handleInfo in a server). A dead pid is a no-op; an unknown name throws BadArgError. */
  send(to: Pid | Name, msg: unknown): void;
  /** gen_server cast: fire-and-forget, a no-op if the target is dead or unknown. */
  cast(to: Pid | Name, msg: unknown): void;
  /** gen_server call from this actor; abandoned (never settles) if this actor exits first. */
  call<R = unknown>(to: Pid | Name, request: unknown, timeoutMs?: number): Promise<R>;
  /** Answer a call whose handler returned noreply. Late or duplicate replies are dropped. */
  replyTo(from: From, value: unknown): void;

  spawn(handler: Handler, options?: SpawnOptions): Pid;
  spawnLink(handler: Handler, options?: SpawnOptions): Pid;
  spawnMonitor(handler: Handler, options?: SpawnOptions): { pid: Pid; ref: Ref };

  /** Bidirectional. Linking to a dead pid delivers an exit signal noproc to this actor. */
  link(pid: Pid): void;
  unlink(pid: Pid): void;
  /** One-way and stackable; a DownMsg arrives when pid exits (at once with noproc if already dead). */
  monitor(pid: Pid): Ref;
  /** Returns true if the monitor was active; flush also removes a DownMsg already queued for it. */
  demonitor(ref: Ref, options?: { flush?: boolean }): boolean;
  /** While on, exit signals (except kill) arrive as ExitMsg messages instead of killing this actor. */
  trapExit(on: boolean): void;
  /** Send an exit signal to another process (Erlang exit/2). */
  exit(pid: Pid, reason: ExitReason): void;
  /** Exit now with reason (Erlang exit/1): throws, unwinding the handler. */
  exitSelf(reason: ExitReason): never;

  /** Deliver msg to `to` (default: self) after ms; the timer dies with its target. */
  sendAfter(ms: number, msg: unknown, to?: Pid): TimerRef;
  /** Deliver TimerMsg{ref, msg} to self after ms. */
  startTimer(ms: number, msg: unknown): TimerRef;
  /** Deliver msg to self every ms until cancelled or exit. */
  sendInterval(ms: number, msg: unknown): TimerRef;
  /** Milliseconds left, or false if it already fired or was cancelled. */
  cancelTimer(ref: TimerRef): number | false;

  /** Close resource when this actor exits, whatever the reason. Returns it. */
  adopt<T extends Resource>(resource: T): T;
  /** Stop owning resource (it is not closed). */
  release(resource: Resource): void;
  /** An outside callback that runs fn inside a turn of this actor (its throw is this actor's crash); no-op after exit. */
  wrap<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => void;
  /** An outside callback whose arguments become a message (toMsg runs inside a turn; undefined = no message). */
  relay<A extends unknown[]>(toMsg: (...args: A) => unknown): (...args: A) => void;
  /** Deliver a promise's value as a message built by toMsg; a rejection crashes this actor. */
  pipe<T>(promise: PromiseLike<T>, toMsg: (value: T) => unknown): void;
  /** Put msg in this actor's own mailbox; safe to call from outside callbacks, a no-op after exit. */
  deliver(msg: unknown): void;

  register(name: Name): void;
  unregister(name: Name): void;
  join(group: Name): void;
  leave(group: Name): void;
}
