/**
 * The actor runtime: OTP's processes, links, monitors, gen_server and supervisors for Node.
 *
 * Tour:
 * - `new Runtime({ clock, logger })` is a node (process table, registry, clock, events, crash
 *   reporter); `defaultRuntime()` is used when none is given. Free functions (`spawn`, `send`,
 *   `call`, ...) act on the calling actor's runtime, else the default one.
 * - Raw actors: `rt.spawn((msg, ctx) => ...)`; `ctx` (Ctx) links, monitors, traps exits, sets
 *   timers, adopts resources and turns outside callbacks into messages (wrap/relay/pipe).
 * - Servers: `defineServer({ name, init, handleCall, handleCast, handleInfo, terminate })` and
 *   `startServer(behaviour, args, { name })`, answered with ok/reply/noreply/stop/stopReply.
 * - Supervisors: `startSupervisor(supervisorSpec({ strategy, intensity, period, children }))`,
 *   administered with startChild/terminateChild/deleteChild/restartChild/whichChildren/countChildren.
 * - Time: `ManualClock` + `advance(clock, ms)` / `settle()` drive everything deterministically.
 *
 * Deliberate differences from Erlang/OTP:
 * - No preemption: a kill marks the actor dead, drops its mailbox and closes its resources,
 *   but JS already running in its handler finishes (its result is ignored).
 * - No selective receive: a process waits on promises instead (calls, starts, shutdowns are
 *   answered outside the mailbox), so the mailbox stays a plain FIFO.
 * - Mailboxes are unbounded, as in Erlang; backpressure belongs to the actors (sockets paused,
 *   pieces in flight capped), and mailbox lengths are visible in snapshots.
 * - An exit signal sent from outside any actor has `from: undefined`; a server started
 *   without a parent treats such an EXIT as its parent's.
 * - `stopReply` replies before terminate runs (OTP replies after terminate, just before exiting).
 * - Hibernation, code change and format_status have no counterpart.
 */
export { Runtime, type RuntimeOptions } from "./runtime.js";
export { defaultRuntime, currentRuntime } from "./defaultRuntime.js";
export { Scheduler, defaultScheduler, type SchedulerOptions } from "./scheduler.js";
export { RealClock, ManualClock, type Clock, type TimerHandle } from "./clock.js";
export { Pid, type Ref } from "./pid.js";
export { Reason, classifyReason, isAbnormal, isExitReason, formatReason, type ExitReason, type ReasonKind, type ReasonClass } from "./reason.js";
export {
  RuntimeError,
  CallError,
  BadArgError,
  NameTakenError,
  ChildSpecError,
  StartError,
  BadReturnError,
  UnexpectedMessageError,
  ProcessExit,
  type CallFailure,
  type StartFailure,
} from "./errors.js";
export type { Ctx, Handler, SpawnOptions } from "./context.js";
export { ExitMsg, DownMsg, TimerMsg, type SystemMessage } from "./messages.js";
export { CallMsg, CastMsg, From, DEFAULT_CALL_TIMEOUT } from "./call.js";
export { TimerRef, type TimerKind } from "./timers.js";
export type { Resource } from "./resources.js";
export { nameKey, displayName, type Name, type NamePart } from "./registry.js";
export type { RuntimeEvent, EventListener } from "./events.js";
export type { ProcessInfo, TreeNode } from "./introspection.js";
export { DEFAULT_REPORT_LIMITS, type LogSink, type ReportLimits, type ReportKind } from "./crashReport.js";
export type { StatusName } from "./status.js";
export {
  defineServer,
  startServer,
  DEFAULT_START_TIMEOUT,
  type ServerBehaviour,
  type StartOptions,
  type StartResult,
} from "./server.js";
export {
  ok,
  ignore,
  reply,
  noreply,
  stop,
  stopReply,
  IDLE_TIMEOUT,
  type Action,
  type Awaitable,
  type InitResult,
  type CallResult,
  type InfoResult,
  type IdleTimeout,
  type Ok,
  type Ignore,
  type Reply,
  type NoReply,
  type Stop,
  type StopReply,
} from "./serverResults.js";
export {
  supervisorSpec,
  validateSupervisorSpec,
  type ChildSpec,
  type SupervisorSpec,
  type Strategy,
  type RestartType,
  type Shutdown,
  type ChildType,
  type AutoShutdown,
} from "./supervisorSpec.js";
export {
  startSupervisor,
  startChild,
  terminateChild,
  deleteChild,
  restartChild,
  whichChildren,
  countChildren,
  SupervisorError,
} from "./supervisorApi.js";
export type { ChildInfo, ChildCounts, SupervisorErrorCode } from "./supervisorAdmin.js";
export { addRestart, analyzeExit, restartGroup, type ExitVerdict, type IntensityVerdict, type RestartGroup } from "./supervisorPolicy.js";
export { startMachine, machineSnapshot, type MachineOptions } from "./machine.js";
export { assertNever, match, type Cases } from "./verdict.js";
export { settle, advance } from "./testkit.js";
export { spawn, send, cast, call, replyTo, exit, stop as stopProcess, whereis, sendAfter, cancelTimer, self } from "./api.js";
