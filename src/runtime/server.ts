/**
 * gen_server: a behaviour (init / handleCall / handleCast / handleInfo / handleContinue /
 * terminate) run by one process.
 *
 * Guarantees:
 * - startServer resolves only after init acked (ok -> the Pid, ignore -> "ignore"); init's
 *   stop, crash or a start timeout reject it with StartError, and the parent is unlinked first
 *   so it receives no EXIT for a child that never started (OTP 26 semantics).
 * - The name, if any, is registered before init runs; a taken name rejects {already_started, pid}.
 * - terminate(reason, state) runs on a stop result, on a callback crash, on a stop request and
 *   on the parent's exit signal when trapping exits; never on kill or an untrapped signal,
 *   never when init did not complete.
 * - A result that is not one the callback may return is a crash (BadReturnError).
 */
import type { CallMsg as CallMsgType, From } from "./call.js";
import { CallMsg, CastMsg } from "./call.js";
import type { Ctx } from "./context.js";
import { currentRuntime } from "./defaultRuntime.js";
import { BadReturnError, NameTakenError, StartError, UnexpectedMessageError } from "./errors.js";
import { ExitMsg, TimerMsg } from "./messages.js";
import { Pid, type Ref } from "./pid.js";
import { currentProc, isThenable, type Proc, type ProcImpl } from "./proc.js";
import { isExitReason, Reason, type ExitReason } from "./reason.js";
import type { Name } from "./registry.js";
import type { Runtime } from "./runtime.js";
import {
  IDLE_TIMEOUT,
  type Awaitable,
  type CallResult,
  type InfoResult,
  type InitResult,
} from "./serverResults.js";
import { exitSignal, unlinkProcs } from "./signals.js";
import { DEAD, EXITING } from "./status.js";
import { cancelActorTimer, startActorTimer } from "./timers.js";

export interface ServerBehaviour<S, A = void, Q = unknown, C = unknown, I = unknown> {
  /** Shown in snapshots and crash reports (e.g. "piece_mgr"). */
  readonly name: string;
  init(args: A, ctx: Ctx): Awaitable<InitResult<S>>;
  handleCall?(request: Q, from: From, state: S, ctx: Ctx): Awaitable<CallResult<S>>;
  handleCast?(msg: C, state: S, ctx: Ctx): Awaitable<InfoResult<S>>;
  /** Everything else: sends, DownMsg, ExitMsg (trapping, not from the parent), TimerMsg, IDLE_TIMEOUT, relayed callbacks. */
  handleInfo?(msg: I, state: S, ctx: Ctx): Awaitable<InfoResult<S>>;
  handleContinue?(cont: unknown, state: S, ctx: Ctx): Awaitable<InfoResult<S>>;
  terminate?(reason: ExitReason, state: S, ctx: Ctx): unknown;
  /** Introspection: ordered child pids (supervisors), shown as the node's children in snapshots. */
  children?(state: S): readonly Pid[];
}

/** Identity helper that lets TypeScript infer a behaviour's type parameters. */
export function defineServer<S, A = void, Q = unknown, C = unknown, I = unknown>(
  behaviour: ServerBehaviour<S, A, Q, C, I>,
): ServerBehaviour<S, A, Q, C, I> {
  return behaviour;
}

export type StartResult = Pid | "ignore";

export interface StartOptions {
  name?: Name;
  /** true (default): link to the calling actor if there is one (start_link); false: no link; a Pid: link to it. */
  link?: boolean | Pid;
  /** Milliseconds for init to ack (default 5000; Infinity allowed). */
  timeout?: number;
  runtime?: Runtime;
  /** Trap exits from the start (before init runs). */
  trapExit?: boolean;
}

export const DEFAULT_START_TIMEOUT = 5000;

class InitMsg {
  constructor(
    readonly args: unknown,
    readonly ack: StartAck,
  ) {}
}

/** The pending start: settled once by init's ack, the process's death, or the timeout. */
class StartAck {
  done = false;
  timer: object | undefined = undefined;
  watchRef: Ref | undefined = undefined;

  constructor(
    readonly proc: Proc,
    readonly label: string,
    private readonly resolve: (result: StartResult) => void,
    private readonly reject: (error: StartError) => void,
  ) {}

  succeed(result: StartResult): void {
    if (!this.settle()) return;
    this.resolve(result);
  }

  fail(reason: ExitReason | { kind: "timeout"; afterMs: number }): void {
    if (!this.settle()) return;
    this.reject(new StartError(reason, this.label));
  }

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    const rt = this.proc.rt;
    if (this.timer !== undefined) rt.clock.clearTimer(this.timer);
    if (this.watchRef !== undefined) rt.unwatch(this.proc.pid, this.watchRef);
    return true;
  }
}

const impls = new WeakMap<object, ServerImpl<unknown>>();

function implFor<S, A, Q, C, I>(behaviour: ServerBehaviour<S, A, Q, C, I>): ServerImpl<S> {
  let impl = impls.get(behaviour);
  if (impl === undefined) {
    impl = new ServerImpl(behaviour as unknown as ServerBehaviour<unknown, unknown>);
    impls.set(behaviour, impl);
  }
  return impl as ServerImpl<S>;
}

/** Start a server; with the default `link: true` it is start_link from the calling actor. */
export function startServer<S, A, Q, C, I>(
  behaviour: ServerBehaviour<S, A, Q, C, I>,
  args: A,
  options: StartOptions = {},
): Promise<StartResult> {
  return startProcess(implFor(behaviour), args, options);
}

/** @internal Shared by servers and supervisors. */
export function startProcess(impl: ProcImpl, args: unknown, options: StartOptions): Promise<StartResult> {
  const caller = currentProc();
  const rt = options.runtime ?? caller?.rt ?? currentRuntime();
  let parent: Proc | undefined;
  if (options.link instanceof Pid) {
    parent = options.link.proc;
    if (parent === undefined || parent.status === DEAD) return Promise.reject(new StartError(Reason.noproc, impl.name));
  } else if (options.link !== false) {
    parent = caller;
  }
  return new Promise<StartResult>((resolve, reject) => {
    let proc: Proc;
    try {
      proc = rt.spawnProc(impl, undefined, parent, parent !== undefined, options.name, options.trapExit === true);
    } catch (error) {
      reject(error instanceof NameTakenError ? new StartError({ kind: "already_started", pid: error.holder }, impl.name) : error);
      return;
    }
    proc.ready = false;
    const ack = new StartAck(proc, impl.name, resolve, reject);
    ack.watchRef = rt.watch(proc.pid, (reason) => ack.fail(reason));
    const timeout = options.timeout ?? DEFAULT_START_TIMEOUT;
    if (timeout !== Infinity) {
      ack.timer = rt.clock.setTimer(timeout, () => {
        ack.timer = undefined;
        if (ack.done) return;
        ack.fail({ kind: "timeout", afterMs: timeout });
        detachFromParent(proc);
        exitSignal(proc, undefined, Reason.kill, false);
      });
    }
    proc.state = ack;
    proc.post(new InitMsg(args, ack));
  });
}

function detachFromParent(proc: Proc): void {
  if (proc.parent !== undefined) unlinkProcs(proc, proc.parent);
}

type AnyResult = { readonly kind: string; readonly [key: string]: unknown };

function resultOf(value: unknown, allowed: readonly string[], where: string): AnyResult {
  if (typeof value === "object" && value !== null && allowed.includes((value as { kind?: unknown }).kind as string)) {
    return value as AnyResult;
  }
  throw new BadReturnError(where, value);
}

const INIT_KINDS = ["ok", "ignore", "stop"] as const;
const CALL_KINDS = ["reply", "noreply", "stop", "stop_reply"] as const;
const INFO_KINDS = ["noreply", "stop"] as const;

/** @internal The ProcImpl running one behaviour (shared by all its processes). */
export class ServerImpl<S> implements ProcImpl {
  readonly name: string;

  constructor(private readonly b: ServerBehaviour<S, unknown>) {
    this.name = b.name;
  }

  handle(proc: Proc, msg: unknown): unknown {
    const idle = proc.idleTimer;
    if (idle !== undefined) {
      proc.idleTimer = undefined;
      cancelActorTimer(idle);
    }
    const b = this.b;
    if (msg instanceof CastMsg) {
      if (b.handleCast === undefined) throw new UnexpectedMessageError(b.name, "cast");
      return this.after(proc, b.handleCast(msg.msg, proc.state as S, proc), INFO_KINDS, "handleCast", undefined);
    }
    if (msg instanceof CallMsg) return this.call(proc, msg);
    if (msg instanceof InitMsg) return this.init(proc, msg);
    if (msg instanceof ExitMsg && proc.trapping && msg.from === proc.parent) {
      proc.stopSelf(msg.reason);
      return undefined;
    }
    let info = msg;
    if (msg instanceof TimerMsg && msg.msg === IDLE_TIMEOUT) {
      if (msg.ref !== idle) return undefined; // stale: a message arrived before it
      info = IDLE_TIMEOUT;
    }
    if (b.handleInfo === undefined) {
      proc.rt.report("warn", "unexpected_info", { actor: proc.pid.toString(), behaviour: b.name }, "message dropped: no handleInfo");
      return undefined;
    }
    return this.after(proc, b.handleInfo(info, proc.state as S, proc), INFO_KINDS, "handleInfo", undefined);
  }

  terminate(proc: Proc, reason: ExitReason): unknown {
    if (!proc.ready) {
      detachFromParent(proc); // init failed: the starter gets the error, not an EXIT
      return undefined;
    }
    return this.b.terminate?.(reason, proc.state as S, proc);
  }

  children(proc: Proc): readonly Pid[] {
    return proc.ready && this.b.children !== undefined ? this.b.children(proc.state as S) : [];
  }

  private call(proc: Proc, msg: CallMsgType): unknown {
    const b = this.b;
    if (b.handleCall === undefined) throw new UnexpectedMessageError(b.name, "call");
    return this.after(proc, b.handleCall(msg.request, msg.from, proc.state as S, proc), CALL_KINDS, "handleCall", msg.from);
  }

  private init(proc: Proc, msg: InitMsg): unknown {
    const result = this.b.init(msg.args, proc);
    if (isThenable(result)) return result.then((r) => this.afterInit(proc, msg.ack, r));
    return this.afterInit(proc, msg.ack, result);
  }

  private afterInit(proc: Proc, ack: StartAck, value: unknown): unknown {
    if (proc.status === DEAD || proc.status === EXITING) return undefined;
    const result = resultOf(value, INIT_KINDS, `${this.name}.init`);
    switch (result.kind) {
      case "ok":
        proc.state = result.state;
        proc.ready = true;
        ack.succeed(proc.pid);
        return this.action(proc, result.action);
      case "ignore":
        detachFromParent(proc);
        ack.succeed("ignore");
        proc.stopSelf(Reason.normal);
        return undefined;
      default:
        proc.stopSelf(checkedReason(result.reason, `${this.name}.init`));
        return undefined;
    }
  }

  private after(proc: Proc, value: unknown, allowed: readonly string[], where: string, from: From | undefined): unknown {
    if (isThenable(value)) return value.then((r) => this.apply(proc, r, allowed, where, from));
    return this.apply(proc, value, allowed, where, from);
  }

  private apply(proc: Proc, value: unknown, allowed: readonly string[], where: string, from: From | undefined): unknown {
    if (proc.status === DEAD || proc.status === EXITING) return undefined;
    const result = resultOf(value, allowed, `${this.name}.${where}`);
    switch (result.kind) {
      case "reply":
        proc.state = result.state;
        from?.settle(result.value);
        return this.action(proc, result.action);
      case "noreply":
        proc.state = result.state;
        return this.action(proc, result.action);
      case "stop_reply":
        proc.state = result.state;
        from?.settle(result.value);
        proc.stopSelf(checkedReason(result.reason, `${this.name}.${where}`));
        return undefined;
      default:
        if ("state" in result && result.state !== undefined) proc.state = result.state;
        proc.stopSelf(checkedReason(result.reason, `${this.name}.${where}`));
        return undefined;
    }
  }

  private action(proc: Proc, action: unknown): unknown {
    if (action === undefined) return undefined;
    if (typeof action === "object" && action !== null) {
      if ("timeout" in action && typeof action.timeout === "number") {
        proc.idleTimer = startActorTimer(proc.pid, action.timeout, IDLE_TIMEOUT, "timeout");
        return undefined;
      }
      if ("continue" in action) {
        const b = this.b;
        if (b.handleContinue === undefined) throw new UnexpectedMessageError(b.name, "continue");
        return this.after(proc, b.handleContinue((action as { continue: unknown }).continue, proc.state as S, proc), INFO_KINDS, "handleContinue", undefined);
      }
    }
    throw new BadReturnError(`${this.name} action`, action);
  }
}

function checkedReason(reason: unknown, where: string): ExitReason {
  if (isExitReason(reason)) return reason;
  throw new BadReturnError(`${where} stop reason`, reason);
}
