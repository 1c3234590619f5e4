/** Typed errors of the runtime: each says where and what, and carries the evidence as fields. */
import type { Pid } from "./pid.js";
import { formatReason, type ExitReason } from "./reason.js";

export abstract class RuntimeError extends Error {
  abstract readonly code: string;
}

/** Why a call failed: a timeout, the callee's exit reason (noproc if it was already dead), or calling oneself. */
export type CallFailure = ExitReason | { readonly kind: "timeout" } | { readonly kind: "calling_self" };

export class CallError extends RuntimeError {
  readonly code = "call_failed";
  constructor(
    readonly reason: CallFailure,
    readonly target: string,
  ) {
    super(`call to ${target} failed: ${reason.kind === "timeout" || reason.kind === "calling_self" ? reason.kind : formatReason(reason)}`);
    this.name = "CallError";
  }
}

/** Erlang's `badarg`: a message sent to a name nobody holds, or a malformed name. */
export class BadArgError extends RuntimeError {
  readonly code = "badarg";
  constructor(message: string) {
    super(message);
    this.name = "BadArgError";
  }
}

export class NameTakenError extends RuntimeError {
  readonly code = "name_taken";
  constructor(
    readonly key: string,
    readonly holder: Pid,
  ) {
    super(`name ${key} is already registered to ${holder.toString()}`);
    this.name = "NameTakenError";
  }
}

/** An invalid child spec or supervisor flag; `field` names the offending field. */
export class ChildSpecError extends RuntimeError {
  readonly code = "invalid_child_spec";
  constructor(
    readonly childId: string | undefined,
    readonly field: string,
    detail: string,
  ) {
    super(`invalid ${childId === undefined ? "supervisor spec" : `child spec "${childId}"`}: field "${field}" ${detail}`);
    this.name = "ChildSpecError";
  }
}

/** Why a start failed: init's stop reason or crash, a start timeout, or the name already taken. */
export type StartFailure =
  | ExitReason
  | { readonly kind: "timeout"; readonly afterMs: number }
  | { readonly kind: "already_started"; readonly pid: Pid };

export class StartError extends RuntimeError {
  readonly code = "start_failed";
  constructor(
    readonly reason: StartFailure,
    readonly behaviour: string,
  ) {
    super(`${behaviour} failed to start: ${describeStartFailure(reason)}`);
    this.name = "StartError";
  }
}

function describeStartFailure(reason: StartFailure): string {
  switch (reason.kind) {
    case "timeout":
      return `init did not ack within ${reason.afterMs} ms`;
    case "already_started":
      return `already started as ${reason.pid.toString()}`;
    default:
      return formatReason(reason);
  }
}

/** A handler returned something that is not one of the results it may return. */
export class BadReturnError extends RuntimeError {
  readonly code = "bad_return";
  constructor(
    readonly where: string,
    readonly value: unknown,
  ) {
    super(`${where} returned an invalid result: ${safeString(value)}`);
    this.name = "BadReturnError";
  }
}

/** A message a behaviour has no handler for (a call without handleCall, a cast without handleCast). */
export class UnexpectedMessageError extends RuntimeError {
  readonly code = "unexpected_message";
  constructor(
    readonly behaviour: string,
    readonly what: string,
  ) {
    super(`${behaviour} has no handler for ${what}`);
    this.name = "UnexpectedMessageError";
  }
}

function safeString(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 200);
  } catch {
    return String(value);
  }
}

/**
 * Thrown by `ctx.exitSelf(reason)`: Erlang's `exit/1`. Not an Error on purpose (no stack to
 * capture: an orderly stop is not a bug), and recognised by the turn that catches it.
 */
export class ProcessExit {
  constructor(readonly reason: ExitReason) {}
}
