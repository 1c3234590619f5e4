/**
 * An xstate v5 machine run as one of our actors, so it can be linked, monitored and supervised.
 *
 * - Mailbox messages are the machine's events (send/cast with `{ type: ... }`); a call with an
 *   event sends it and replies with the resulting snapshot; `machineSnapshot(pid)` reads it.
 * - DownMsg / ExitMsg / TimerMsg arrive as `runtime.down` / `runtime.exit` / `runtime.timer` events.
 * - Delayed transitions use the runtime's clock and fire inside this actor's turns.
 * - An error in the machine (a throwing action or guard) is this actor's exit reason; reaching a
 *   final state exits normal. The xstate actor is stopped when this actor exits, however it exits.
 * - xstate's `inspect` is attached only when the `inspect` option (the debug flag) is given.
 */
import { createActor, type AnyStateMachine, type InputFrom, type InspectionEvent, type SnapshotFrom } from "xstate";
import type { Ctx } from "./context.js";
import { currentRuntime } from "./defaultRuntime.js";
import { DownMsg, ExitMsg, TimerMsg } from "./messages.js";
import type { Pid } from "./pid.js";
import { Reason } from "./reason.js";
import type { Name } from "./registry.js";
import { defineServer, startServer, type ServerBehaviour, type StartOptions } from "./server.js";
import { noreply, ok, reply, stop, type InfoResult, type Reply } from "./serverResults.js";
import type { TimerRef } from "./timers.js";

export interface MachineOptions<M extends AnyStateMachine> extends StartOptions {
  input?: InputFrom<M>;
  /** Debug only: xstate's inspection callback. */
  inspect?: (event: InspectionEvent) => void;
  /** Label in snapshots (default: the machine's id). */
  label?: string;
}

interface MachineArgs {
  readonly machine: AnyStateMachine;
  readonly input: unknown;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
}

interface MachineState {
  readonly actor: ReturnType<typeof createActor<AnyStateMachine>>;
}

/** A delayed xstate callback, run inside the actor's turn. */
class DelayedCallback {
  constructor(readonly fn: () => void) {}
}

const SNAPSHOT_REQUEST = Object.freeze({ op: "machine_snapshot" });

type MachineEvent = { readonly type: string };

function isEvent(msg: unknown): msg is MachineEvent {
  return typeof msg === "object" && msg !== null && typeof (msg as { type?: unknown }).type === "string";
}

function asEvent(msg: unknown): MachineEvent | undefined {
  if (isEvent(msg)) return msg;
  if (msg instanceof DownMsg) return { type: "runtime.down", ref: msg.ref, pid: msg.pid, reason: msg.reason } as MachineEvent;
  if (msg instanceof ExitMsg) return { type: "runtime.exit", from: msg.from, reason: msg.reason } as MachineEvent;
  if (msg instanceof TimerMsg) return { type: "runtime.timer", ref: msg.ref, msg: msg.msg } as MachineEvent;
  return undefined;
}

/** Stop if the machine errored or finished, else carry on. */
function outcome(state: MachineState): InfoResult<MachineState> {
  const snapshot = state.actor.getSnapshot();
  if (snapshot.status === "error") return stop(Reason.error(snapshot.error), state);
  if (snapshot.status === "done") return stop(Reason.normal, state);
  return noreply(state);
}

function deliver(msg: unknown, state: MachineState): InfoResult<MachineState> {
  if (msg instanceof DelayedCallback) msg.fn();
  else {
    const event = asEvent(msg);
    if (event !== undefined) state.actor.send(event);
  }
  return outcome(state);
}

const behaviours = new Map<string, ServerBehaviour<MachineState, MachineArgs>>();

function machineBehaviour(label: string): ServerBehaviour<MachineState, MachineArgs> {
  let behaviour = behaviours.get(label);
  if (behaviour !== undefined) return behaviour;
  behaviour = defineServer<MachineState, MachineArgs>({
    name: label,
    init({ machine, input, inspect }, ctx: Ctx) {
      const clock = {
        setTimeout: (fn: () => void, ms: number): TimerRef => ctx.sendAfter(ms, new DelayedCallback(fn)),
        clearTimeout: (ref: TimerRef): void => void ctx.cancelTimer(ref),
      };
      const actor = createActor(machine, { input, clock, ...(inspect === undefined ? {} : { inspect }) });
      // An error observer keeps xstate from rethrowing the error on a bare setTimeout.
      actor.subscribe({ error: () => undefined });
      ctx.adopt(actor);
      actor.start();
      const state: MachineState = { actor };
      const status = actor.getSnapshot().status;
      if (status === "error") return stop(Reason.error(actor.getSnapshot().error));
      return status === "done" ? ok(state, { continue: "done" }) : ok(state);
    },
    handleContinue: (_cont, state) => outcome(state),
    handleInfo: (msg, state) => deliver(msg, state),
    handleCast: (msg, state) => deliver(msg, state),
    handleCall(request, _from, state): Reply<MachineState> | InfoResult<MachineState> {
      if (request !== SNAPSHOT_REQUEST) {
        const after = deliver(request, state);
        if (after.kind === "stop") return after;
      }
      return reply(state.actor.getSnapshot(), state);
    },
  });
  if (behaviours.size < 1000) behaviours.set(label, behaviour);
  return behaviour;
}

/** Start machine as an actor (linked to the calling actor by default). */
export function startMachine<M extends AnyStateMachine>(machine: M, options: MachineOptions<M> = {}): Promise<Pid> {
  const label = options.label ?? machine.id;
  const args: MachineArgs = { machine, input: options.input, inspect: options.inspect };
  return startServer(machineBehaviour(label), args, options) as Promise<Pid>;
}

/** The machine's current snapshot. */
export function machineSnapshot<M extends AnyStateMachine>(pid: Pid | Name, timeoutMs?: number): Promise<SnapshotFrom<M>> {
  return currentRuntime().call<SnapshotFrom<M>>(pid, SNAPSHOT_REQUEST, timeoutMs);
}
