/** What gen_server-style callbacks return: tagged results and their constructors. */
import type { ExitReason } from "./reason.js";

/** `{timeout, Ms}`: deliver IDLE_TIMEOUT to handleInfo if no message arrives within ms. `{continue, C}`: call handleContinue(C) before the next message. */
export type Action = { readonly timeout: number } | { readonly continue: unknown };

export type Ok<S> = { readonly kind: "ok"; readonly state: S; readonly action?: Action };
export type Ignore = { readonly kind: "ignore" };
export type Reply<S> = { readonly kind: "reply"; readonly value: unknown; readonly state: S; readonly action?: Action };
export type NoReply<S> = { readonly kind: "noreply"; readonly state: S; readonly action?: Action };
export type Stop<S> = { readonly kind: "stop"; readonly reason: ExitReason; readonly state?: S };
export type StopReply<S> = { readonly kind: "stop_reply"; readonly reason: ExitReason; readonly value: unknown; readonly state: S };

export type InitResult<S> = Ok<S> | Ignore | Stop<S>;
export type CallResult<S> = Reply<S> | NoReply<S> | Stop<S> | StopReply<S>;
export type InfoResult<S> = NoReply<S> | Stop<S>;

export type Awaitable<T> = T | PromiseLike<T>;

const IGNORE: Ignore = Object.freeze({ kind: "ignore" });

export function ok<S>(state: S, action?: Action): Ok<S> {
  return action === undefined ? { kind: "ok", state } : { kind: "ok", state, action };
}

export function ignore(): Ignore {
  return IGNORE;
}

export function reply<S>(value: unknown, state: S, action?: Action): Reply<S> {
  return action === undefined ? { kind: "reply", value, state } : { kind: "reply", value, state, action };
}

export function noreply<S>(state: S, action?: Action): NoReply<S> {
  return action === undefined ? { kind: "noreply", state } : { kind: "noreply", state, action };
}

export function stop<S>(reason: ExitReason, state?: S): Stop<S> {
  return state === undefined ? { kind: "stop", reason } : { kind: "stop", reason, state };
}

/** `{stop, Reason, Reply, State}`: reply to the caller, then terminate and exit. */
export function stopReply<S>(reason: ExitReason, value: unknown, state: S): StopReply<S> {
  return { kind: "stop_reply", reason, value, state };
}

/** The message handleInfo receives when a `{timeout}` action expires (Erlang's `timeout`). */
export const IDLE_TIMEOUT = Object.freeze({ kind: "idle_timeout" as const });
export type IdleTimeout = typeof IDLE_TIMEOUT;
