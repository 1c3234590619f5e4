/**
 * A runtime ("node"): the process table, registry, clock, event stream and crash reporter of
 * one set of actors. Several runtimes can live in one Node.js process (in-process swarm mode);
 * by default they share one scheduler (one run queue), and pids work across them.
 */
import { log } from "../log.js";
import { callProc, CastMsg, DEFAULT_CALL_TIMEOUT, type DownWatcher } from "./call.js";
import { RealClock, type Clock } from "./clock.js";
import type { Handler, SpawnOptions } from "./context.js";
import { CrashReporter, DEFAULT_REPORT_LIMITS, type LogSink, type ReportKind, type ReportLimits } from "./crashReport.js";
import { BadArgError, CallError } from "./errors.js";
import { EventHub, type RuntimeEvent } from "./events.js";
import { buildTree, processInfo, type ProcessInfo, type TreeNode } from "./introspection.js";
import { makeRef, Pid, type Ref } from "./pid.js";
import { currentProc, Proc, SysMsg, type ProcImpl } from "./proc.js";
import { formatReason, isAbnormal, Reason, type ExitReason } from "./reason.js";
import { displayName, Registry, type Name, type NamePart } from "./registry.js";
import { defaultScheduler, type Scheduler } from "./scheduler.js";
import { exitSignal, linkProcs } from "./signals.js";
import { DEAD } from "./status.js";
import { cancelActorTimer, startActorTimer, type TimerRef } from "./timers.js";

export interface RuntimeOptions {
  clock?: Clock;
  scheduler?: Scheduler;
  /** Where crash and supervisor reports go (default: the pino logger of src/log.ts). */
  logger?: LogSink;
  reportLimits?: Partial<ReportLimits>;
  /** A label for logs (e.g. "node-a" in swarm mode). */
  label?: string;
}

let lastNode = -1;

/** Runs fn when a process exits; the runtime's own monitors (stop, awaitExit, supervisors). */
class CallbackWatcher implements DownWatcher {
  constructor(readonly fn: (reason: ExitReason, pid: Pid) => void) {}
  onDown(_ref: Ref, pid: Pid, reason: ExitReason): void {
    this.fn(reason, pid);
  }
}

const fnImpls = new Map<string, ProcImpl>();

/** One shared impl per label: a raw actor's handler lives in Proc.state, so spawning allocates no closure. */
function fnImpl(label: string): ProcImpl {
  let impl = fnImpls.get(label);
  if (impl === undefined) {
    impl = { name: label, handle: (proc, msg) => (proc.state as Handler)(msg, proc) };
    if (fnImpls.size < 1000) fnImpls.set(label, impl);
  }
  return impl;
}

export class Runtime {
  readonly node: number;
  readonly label: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly registry = new Registry();
  readonly events: EventHub;
  readonly reporter: CrashReporter;
  /** @internal Live processes by pid id. */
  readonly procs = new Map<number, Proc>();
  private lastId = 0;

  constructor(options: RuntimeOptions = {}) {
    this.node = ++lastNode;
    this.label = options.label ?? `node${this.node}`;
    this.clock = options.clock ?? new RealClock();
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.reporter = new CrashReporter(this.clock, options.logger ?? log, { ...DEFAULT_REPORT_LIMITS, ...options.reportLimits });
    this.events = new EventHub((error) => this.report("warn", "listener_failed", { err: error }, "event listener threw"));
  }

  // ---- spawning ---------------------------------------------------------------------------

  /** Spawn a raw actor with no parent. Inside an actor use ctx.spawn / ctx.spawnLink. */
  spawn(handler: Handler, options?: SpawnOptions): Pid {
    return this.spawnHandler(handler, options, undefined, false);
  }

  /** @internal */
  spawnHandler(handler: Handler, options: SpawnOptions | undefined, parent: Proc | undefined, link: boolean): Pid {
    if (typeof handler !== "function") throw new BadArgError("spawn: handler must be a function");
    const label = options?.behaviour ?? (handler.name !== "" ? handler.name : "actor");
    return this.spawnProc(fnImpl(label), handler, parent, link, options?.name, options?.trapExit === true).pid;
  }

  /** @internal Creates a process running impl; registers name first (a taken name throws, nothing is spawned). */
  spawnProc(impl: ProcImpl, state: unknown, parent: Proc | undefined, link: boolean, name: Name | undefined, trapExit: boolean): Proc {
    const proc = new Proc(this, ++this.lastId, impl, state, parent?.pid);
    if (name !== undefined) this.registry.register(name, proc);
    proc.trapping = trapExit;
    this.procs.set(proc.pid.id, proc);
    if (link && parent !== undefined) linkProcs(parent, proc.pid);
    if (this.events.active) this.events.emit({ type: "spawned", pid: proc.pid, behaviour: impl.name, parent: parent?.pid });
    return proc;
  }

  // ---- messaging --------------------------------------------------------------------------

  /** A dead pid is a no-op; a name nobody holds throws BadArgError (Erlang's badarg). */
  send(to: Pid | Name, msg: unknown): void {
    if (to instanceof Pid) {
      to.proc?.post(msg);
      return;
    }
    const proc = this.registry.lookup(to);
    if (proc === undefined) throw new BadArgError(`send: no process is registered as ${displayName(to)}`);
    proc.post(msg);
  }

  /** Fire-and-forget; a no-op if the target is dead or the name unknown. */
  cast(to: Pid | Name, msg: unknown): void {
    const proc = to instanceof Pid ? to.proc : this.lookupQuietly(to);
    proc?.post(new CastMsg(msg));
  }

  /** Rejects with CallError: {timeout}, {noproc} (dead pid, unknown name), or the callee's exit reason. */
  call<R = unknown>(to: Pid | Name, request: unknown, timeoutMs: number = DEFAULT_CALL_TIMEOUT): Promise<R> {
    return this.callFrom(currentProc(), to, request, timeoutMs) as Promise<R>;
  }

  /**
   * @internal The one place a call resolves its target, for rt.call and ctx.call alike: a
   * malformed or unknown name rejects noproc (never a synchronous throw), and the CallError
   * names the target as snapshots and logs do.
   */
  callFrom(caller: Proc | undefined, to: Pid | Name, request: unknown, timeoutMs: number): Promise<unknown> {
    const proc = to instanceof Pid ? to.proc : this.lookupQuietly(to);
    return callProc(proc, labelOf(to), request, timeoutMs, caller);
  }

  /** sys:get_state: the process's state (a server's user state), read in its own turn. */
  getState<S = unknown>(to: Pid | Name, timeoutMs: number = DEFAULT_CALL_TIMEOUT): Promise<S> {
    const proc = to instanceof Pid ? to.proc : this.lookupQuietly(to);
    return callProc(proc, labelOf(to), undefined, timeoutMs, currentProc(), (from) => new SysMsg("state", undefined, [], Reason.normal, from)) as Promise<S>;
  }

  /** An exit signal from outside any actor (its EXIT message, if trapped, has `from: undefined`). */
  exit(pid: Pid, reason: ExitReason): void {
    const proc = pid.proc;
    if (proc !== undefined) exitSignal(proc, currentProc()?.pid, reason, false);
  }

  /**
   * gen_server:stop / proc_lib:stop: ask the process to exit with reason, running its
   * terminate; resolves with the reason it actually exited with.
   */
  stop(to: Pid | Name, reason: ExitReason = Reason.normal, timeoutMs = Infinity): Promise<ExitReason> {
    const proc = to instanceof Pid ? to.proc : this.lookupQuietly(to);
    const label = labelOf(to);
    if (proc === undefined || proc.status === DEAD) return Promise.reject(new CallError(Reason.noproc, label));
    return new Promise<ExitReason>((resolve, reject) => {
      const ref = makeRef();
      const timer = timeoutMs === Infinity ? undefined : this.clock.setTimer(timeoutMs, () => {
        proc.monitorsIn?.delete(ref);
        reject(new CallError({ kind: "timeout" }, label));
      });
      proc.addWatcher(ref, new CallbackWatcher((exitReason) => {
        if (timer !== undefined) this.clock.clearTimer(timer);
        resolve(exitReason);
      }));
      proc.post(new SysMsg("stop", undefined, [], reason, undefined));
    });
  }

  /** Resolves with the exit reason of pid (noproc at once if it is already dead). */
  awaitExit(pid: Pid): Promise<ExitReason> {
    return new Promise<ExitReason>((resolve) => {
      this.watch(pid, (reason) => resolve(reason));
    });
  }

  /** @internal A runtime-level monitor: fn runs (synchronously, at the exit) with the reason. */
  watch(pid: Pid, fn: (reason: ExitReason, pid: Pid) => void): Ref {
    const ref = makeRef();
    const proc = pid.proc;
    if (proc === undefined || proc.status === DEAD) fn(Reason.noproc, pid);
    else proc.addWatcher(ref, new CallbackWatcher(fn));
    return ref;
  }

  /** @internal */
  unwatch(pid: Pid, ref: Ref): void {
    pid.proc?.monitorsIn?.delete(ref);
  }

  isAlive(pid: Pid): boolean {
    const proc = pid.proc;
    return proc !== undefined && proc.status !== DEAD;
  }

  // ---- names ------------------------------------------------------------------------------

  register(name: Name, pid: Pid): void {
    const proc = pid.proc;
    if (proc === undefined) throw new BadArgError(`register ${displayName(name)}: ${pid.toString()} is not alive`);
    this.registry.register(name, proc);
  }

  unregister(name: Name): boolean {
    return this.registry.unregister(name);
  }

  whereis(name: Name): Pid | undefined {
    return this.registry.whereis(name);
  }

  /** Pids registered under a name, or under a prefix when the pattern ends with "*". */
  match(pattern: readonly NamePart[]): Pid[] {
    return this.registry.match(pattern);
  }

  join(group: Name, pid: Pid): void {
    const proc = pid.proc;
    if (proc !== undefined) this.registry.join(group, proc);
  }

  leave(group: Name, pid: Pid): void {
    const proc = pid.proc;
    if (proc !== undefined) this.registry.leave(group, proc);
  }

  members(group: Name): Pid[] {
    return this.registry.members(group);
  }

  // ---- timers -----------------------------------------------------------------------------

  sendAfter(to: Pid, ms: number, msg: unknown): TimerRef {
    return startActorTimer(to, ms, msg, "send");
  }

  startTimer(to: Pid, ms: number, msg: unknown): TimerRef {
    return startActorTimer(to, ms, msg, "timeout");
  }

  sendInterval(to: Pid, ms: number, msg: unknown): TimerRef {
    return startActorTimer(to, ms, msg, "interval");
  }

  cancelTimer(ref: TimerRef): number | false {
    return cancelActorTimer(ref);
  }

  // ---- introspection ----------------------------------------------------------------------

  get processCount(): number {
    return this.procs.size;
  }

  pids(): Pid[] {
    return [...this.procs.values()].map((p) => p.pid);
  }

  info(pid: Pid): ProcessInfo | undefined {
    const proc = pid.proc;
    return proc === undefined || proc.rt !== this ? undefined : processInfo(proc);
  }

  /** The whole tree of live processes (supervisors list children in start order). */
  snapshot(options: { maxDepth?: number } = {}): TreeNode[] {
    return buildTree(this.procs.values(), options.maxDepth ?? 64);
  }

  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  /** Rate-limited report (crash reports, supervisor reports). */
  report(level: "error" | "warn", kind: ReportKind, fields: Record<string, unknown>, msg: string): void {
    this.reporter.report(level, kind, { node: this.label, ...fields }, msg);
  }

  // ---- hooks from signals.ts --------------------------------------------------------------

  /** @internal */
  processExited(proc: Proc, reason: ExitReason, onItsOwn: boolean, last: { queued: number; links: number; name: Name | undefined }): void {
    this.procs.delete(proc.pid.id);
    if (onItsOwn && isAbnormal(reason)) {
      this.report(
        "error",
        "crash_report",
        {
          actor: proc.pid.toString(),
          name: last.name === undefined ? undefined : displayName(last.name),
          behaviour: proc.impl.name,
          reason: formatReason(reason),
          err: reason.kind === "error" ? reason.error : undefined,
          queued: last.queued,
          links: last.links,
          parent: proc.parent?.toString(),
        },
        "crash report",
      );
    }
    if (this.events.active) this.events.emit({ type: "exited", pid: proc.pid, behaviour: proc.impl.name, reason });
  }

  /** @internal */
  resourceCloseFailed(pid: Pid, error: unknown): void {
    this.report("warn", "resource_close_failed", { actor: pid.toString(), err: error }, "closing an owned resource failed");
  }

  private lookupQuietly(name: Name): Proc | undefined {
    try {
      return this.registry.lookup(name);
    } catch {
      return undefined;
    }
  }
}

function labelOf(to: Pid | Name): string {
  return to instanceof Pid ? to.toString() : typeof to === "string" || Array.isArray(to) ? displayName(to) : String(to);
}
