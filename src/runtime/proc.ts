/**
 * The process: one mailbox, one message at a time, and everything an actor owns.
 *
 * Guarantees:
 * - A turn handles at most `budget` messages; a message is handled to completion (including
 *   an async handler's promise) before the next one starts.
 * - A throw or a rejected promise in a handler is this process's crash: it exits with
 *   `error` (or the reason given to `exitSelf`), after its behaviour's terminate hook.
 * - Synchronous handlers allocate nothing per message here: a return value is treated as
 *   async only if it is a thenable.
 * - Outside callbacks (wrap/relay/pipe) enter as messages, so their errors are crashes of
 *   this process, never uncaught exceptions; after exit they are no-ops.
 * - A process killed while its handler runs is marked dead at once; the handler's remaining
 *   JS cannot be interrupted (no preemption) but its result is ignored.
 */
import { DEFAULT_CALL_TIMEOUT, type DownWatcher, type From } from "./call.js";
import type { Ctx, Handler, SpawnOptions } from "./context.js";
import { BadArgError, ProcessExit } from "./errors.js";
import { Mailbox } from "./mailbox.js";
import { DownMsg } from "./messages.js";
import { makeRef, Pid, type Ref } from "./pid.js";
import { Reason, type ExitReason } from "./reason.js";
import type { Name } from "./registry.js";
import { closeResource, closerOf, type Resource } from "./resources.js";
import type { Runtime } from "./runtime.js";
import type { Runnable } from "./scheduler.js";
import { die, exitSignal, linkProcs, unlinkProcs } from "./signals.js";
import { AWAITING, DEAD, EXITING, IDLE, RUNNING, type ProcStatus } from "./status.js";
import { cancelActorTimer, startActorTimer, type TimerRef } from "./timers.js";

/** What a process runs: shared by all processes of one behaviour (per-process data lives in Proc.state). */
export interface ProcImpl {
  readonly name: string;
  handle(proc: Proc, msg: unknown): unknown;
  /** Runs when the process exits on its own (crash, stop, exitSelf, stop request); never on a kill or a signal. */
  terminate?(proc: Proc, reason: ExitReason): unknown;
  /** Ordered child pids (supervisors), for the tree snapshot. */
  children?(proc: Proc): readonly Pid[];
}

/** Internal mailbox entries handled by the process itself, whatever its behaviour. */
export class SysMsg {
  constructor(
    readonly op: "run" | "relay" | "stop" | "state",
    readonly fn: ((...args: never[]) => unknown) | undefined,
    readonly args: readonly unknown[],
    readonly reason: ExitReason,
    readonly from: From | undefined,
  ) {}
}

let current: Proc | undefined;

/** The process whose turn is running (synchronous part only), if any. */
export function currentProc(): Proc | undefined {
  return current;
}

/** Runs fn as if inside proc's turn (used by supervisors so that children link to them). */
export function withCurrent<T>(proc: Proc | undefined, fn: () => T): T {
  const previous = current;
  current = proc;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== undefined &&
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export function reasonFromThrow(error: unknown): ExitReason {
  return error instanceof ProcessExit ? error.reason : Reason.error(error);
}

function rethrow(error: unknown): never {
  throw error;
}

export class Proc implements Ctx, Runnable, DownWatcher {
  readonly pid: Pid;
  status: ProcStatus = IDLE;
  queued = false;
  trapping = false;
  /** False while a behaviour's init runs ("starting" in snapshots). */
  ready = true;
  readonly mailbox = new Mailbox();
  state: unknown;
  parent: Pid | undefined;
  links: Set<Proc> | undefined = undefined;
  /** Who monitors this process, by ref. */
  monitorsIn: Map<Ref, DownWatcher> | undefined = undefined;
  /** What this process monitors, by ref (removed from the targets when this one exits). */
  monitorsOut: Map<Ref, Proc> | undefined = undefined;
  timers: Set<TimerRef> | undefined = undefined;
  resources: Resource[] | undefined = undefined;
  names: Name[] | undefined = undefined;
  groups: Name[] | undefined = undefined;
  calls: Set<From> | undefined = undefined;
  /** How many times its supervisor restarted this child slot. */
  restarts = 0;
  /** A server's {timeout} action timer. */
  idleTimer: TimerRef | undefined = undefined;

  constructor(
    readonly rt: Runtime,
    id: number,
    public impl: ProcImpl,
    state: unknown,
    parent: Pid | undefined,
  ) {
    this.pid = new Pid(rt.node, id, this);
    this.state = state;
    this.parent = parent;
  }

  get isDead(): boolean {
    return this.status === DEAD;
  }

  // ---- scheduling -------------------------------------------------------------------------

  /** Enqueue a message; dropped if this process is exiting or dead. */
  post(msg: unknown): void {
    if (this.status >= EXITING) return;
    this.mailbox.push(msg);
    if (this.status === IDLE && !this.queued) this.rt.scheduler.enqueue(this);
  }

  run(budget: number): void {
    const mailbox = this.mailbox;
    for (let n = 0; n < budget && this.status === IDLE && mailbox.size > 0; n++) {
      this.dispatch(mailbox.shift());
    }
    if (this.status === IDLE && mailbox.size > 0) this.rt.scheduler.enqueue(this);
  }

  private dispatch(msg: unknown): void {
    this.status = RUNNING;
    const previous = current;
    current = this;
    let result: unknown;
    try {
      result = msg instanceof SysMsg ? this.system(msg) : this.impl.handle(this, msg);
    } catch (error) {
      current = previous;
      if (this.status === RUNNING) {
        this.status = IDLE;
        this.stopSelf(reasonFromThrow(error));
      }
      return;
    }
    current = previous;
    if (this.status !== RUNNING) return;
    if (isThenable(result)) {
      this.status = AWAITING;
      result.then(
        () => this.resume(),
        (error: unknown) => this.asyncCrash(error),
      );
    } else {
      this.status = IDLE;
    }
  }

  private resume(): void {
    if (this.status !== AWAITING) return;
    this.status = IDLE;
    if (this.mailbox.size > 0) this.rt.scheduler.enqueue(this);
  }

  private asyncCrash(error: unknown): void {
    if (this.status !== AWAITING) return;
    this.status = IDLE;
    this.stopSelf(reasonFromThrow(error));
  }

  private system(msg: SysMsg): unknown {
    switch (msg.op) {
      case "run":
        return (msg.fn as (...args: readonly unknown[]) => unknown)(...msg.args);
      case "relay": {
        const out = (msg.fn as (...args: readonly unknown[]) => unknown)(...msg.args);
        return out === undefined ? undefined : this.impl.handle(this, out);
      }
      case "stop":
        this.stopSelf(msg.reason);
        return undefined;
      case "state":
        msg.from?.settle(this.state);
        return undefined;
    }
  }

  /** Exit on our own: run the behaviour's terminate hook (possibly async), then die. */
  stopSelf(reason: ExitReason): void {
    if (this.status >= EXITING) return;
    const impl = this.impl;
    if (impl.terminate === undefined) {
      die(this, reason, true);
      return;
    }
    this.status = EXITING;
    let result: unknown;
    try {
      result = impl.terminate(this, reason);
    } catch (error) {
      this.finishExit(reasonFromThrow(error));
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => this.finishExit(reason),
        (error: unknown) => this.finishExit(reasonFromThrow(error)),
      );
    } else {
      this.finishExit(reason);
    }
  }

  private finishExit(reason: ExitReason): void {
    if (this.status === EXITING) die(this, reason, true);
  }

  addWatcher(ref: Ref, watcher: DownWatcher): void {
    (this.monitorsIn ??= new Map()).set(ref, watcher);
  }

  onDown(ref: Ref, pid: Pid, reason: ExitReason): void {
    this.monitorsOut?.delete(ref);
    this.post(new DownMsg(ref, pid, reason));
  }

  // ---- Ctx --------------------------------------------------------------------------------

  get self(): Pid {
    return this.pid;
  }

  get runtime(): Runtime {
    return this.rt;
  }

  get trappingExits(): boolean {
    return this.trapping;
  }

  send(to: Pid | Name, msg: unknown): void {
    this.rt.send(to, msg);
  }

  cast(to: Pid | Name, msg: unknown): void {
    this.rt.cast(to, msg);
  }

  call<R = unknown>(to: Pid | Name, request: unknown, timeoutMs: number = DEFAULT_CALL_TIMEOUT): Promise<R> {
    // `this`, not currentProc(): the caller is this actor even after an await, outside its turn.
    return this.rt.callFrom(this, to, request, timeoutMs) as Promise<R>;
  }

  replyTo(from: From, value: unknown): void {
    from.settle(value);
  }

  spawn(handler: Handler, options?: SpawnOptions): Pid {
    return this.rt.spawnHandler(handler, options, this, false);
  }

  spawnLink(handler: Handler, options?: SpawnOptions): Pid {
    return this.rt.spawnHandler(handler, options, this, true);
  }

  spawnMonitor(handler: Handler, options?: SpawnOptions): { pid: Pid; ref: Ref } {
    const pid = this.rt.spawnHandler(handler, options, this, false);
    return { pid, ref: this.monitor(pid) };
  }

  link(pid: Pid): void {
    if (this.status !== DEAD) linkProcs(this, pid);
  }

  unlink(pid: Pid): void {
    unlinkProcs(this, pid);
  }

  monitor(pid: Pid): Ref {
    const ref = makeRef();
    const target = pid.proc;
    if (target === undefined || target.status === DEAD) {
      this.post(new DownMsg(ref, pid, Reason.noproc));
    } else if (this.status !== DEAD) {
      target.addWatcher(ref, this);
      (this.monitorsOut ??= new Map()).set(ref, target);
    }
    return ref;
  }

  demonitor(ref: Ref, options?: { flush?: boolean }): boolean {
    const target = this.monitorsOut?.get(ref);
    if (target !== undefined) {
      this.monitorsOut?.delete(ref);
      target.monitorsIn?.delete(ref);
    }
    if (options?.flush === true) this.mailbox.removeWhere((m) => m instanceof DownMsg && m.ref === ref);
    return target !== undefined;
  }

  trapExit(on: boolean): void {
    this.trapping = on;
  }

  exit(pid: Pid, reason: ExitReason): void {
    const target = pid.proc;
    if (target !== undefined) exitSignal(target, this.pid, reason, false);
  }

  exitSelf(reason: ExitReason): never {
    throw new ProcessExit(reason);
  }

  sendAfter(ms: number, msg: unknown, to: Pid = this.pid): TimerRef {
    return startActorTimer(to, ms, msg, "send");
  }

  startTimer(ms: number, msg: unknown): TimerRef {
    return startActorTimer(this.pid, ms, msg, "timeout");
  }

  sendInterval(ms: number, msg: unknown): TimerRef {
    return startActorTimer(this.pid, ms, msg, "interval");
  }

  cancelTimer(ref: TimerRef): number | false {
    return cancelActorTimer(ref);
  }

  adopt<T extends Resource>(resource: T): T {
    if (closerOf(resource) === undefined) {
      throw new BadArgError(`adopt: ${typeof resource} has no destroy/close/terminate/stop/abort method`);
    }
    if (this.status === DEAD) {
      closeResource(resource, (error) => this.rt.resourceCloseFailed(this.pid, error));
    } else {
      (this.resources ??= []).push(resource);
    }
    return resource;
  }

  release(resource: Resource): void {
    const list = this.resources;
    if (list === undefined) return;
    const index = list.lastIndexOf(resource);
    if (index >= 0) list.splice(index, 1);
  }

  wrap<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => void {
    return (...args: A) => this.post(new SysMsg("run", fn as (...args: never[]) => unknown, args, Reason.normal, undefined));
  }

  relay<A extends unknown[]>(toMsg: (...args: A) => unknown): (...args: A) => void {
    return (...args: A) => this.post(new SysMsg("relay", toMsg as (...args: never[]) => unknown, args, Reason.normal, undefined));
  }

  pipe<T>(promise: PromiseLike<T>, toMsg: (value: T) => unknown): void {
    promise.then(this.relay(toMsg), this.wrap(rethrow));
  }

  deliver(msg: unknown): void {
    this.post(msg);
  }

  register(name: Name): void {
    this.rt.registry.register(name, this);
  }

  unregister(name: Name): void {
    this.rt.registry.unregisterOwn(name, this);
  }

  join(group: Name): void {
    this.rt.registry.join(group, this);
  }

  leave(group: Name): void {
    this.rt.registry.leave(group, this);
  }
}
