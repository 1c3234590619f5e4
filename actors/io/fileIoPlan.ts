/**
 * The file-IO worker's decisions, as pure functions over plain inputs (the worker in
 * actors/fileIo.ts executes them): what to do with a request, and what to do next with
 * the handle and the queue.
 */
import type { FileIoError, FileIoRefusal } from "./errors.js";

export type FileIoRequest =
  | { readonly op: "write"; readonly offset: number; readonly data: Buffer }
  /** `into`: read into this buffer (exactly `length` bytes) instead of a new one; the reply's data is it. */
  | { readonly op: "read"; readonly offset: number; readonly length: number; readonly into?: Buffer };

export type FileIoReply =
  | { readonly kind: "written" }
  | { readonly kind: "read"; readonly data: Buffer }
  | { readonly kind: "refused"; readonly error: FileIoError };

/** A read allocates its length at once: bounded so a wrong length cannot take the node's memory. */
export const MAX_READ_LENGTH = 64 * 1024 * 1024;
/** Requests waiting for the handle or for room in flight; beyond it the worker refuses ("overloaded"). */
export const MAX_QUEUED = 4096;

export type RequestVerdict =
  | { readonly kind: "accept"; readonly request: FileIoRequest }
  /** Nothing to transfer: answered at once, the disk is not touched. */
  | { readonly kind: "empty"; readonly reply: FileIoReply }
  | { readonly kind: "refuse"; readonly refusal: FileIoRefusal };

/** Edge check of a call's request against the file's length and the worker's queue. */
export function judgeRequest(request: unknown, fileLength: number, queued: number): RequestVerdict {
  const parsed = parseRequest(request);
  if (typeof parsed === "string") return { kind: "refuse", refusal: { kind: "malformed", detail: parsed } };
  const length = parsed.op === "write" ? parsed.data.length : parsed.length;
  if (parsed.op === "read" && length > MAX_READ_LENGTH) return { kind: "refuse", refusal: { kind: "tooLong", length, max: MAX_READ_LENGTH } };
  if (parsed.offset + length > fileLength) {
    return { kind: "refuse", refusal: { kind: "outOfRange", offset: parsed.offset, length, fileLength } };
  }
  if (length === 0) return { kind: "empty", reply: parsed.op === "write" ? { kind: "written" } : { kind: "read", data: parsed.into ?? Buffer.alloc(0) } };
  if (queued >= MAX_QUEUED) return { kind: "refuse", refusal: { kind: "overloaded", queued } };
  return { kind: "accept", request: parsed };
}

const isOffset = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** The request, or what is wrong with it. */
function parseRequest(request: unknown): FileIoRequest | string {
  if (typeof request !== "object" || request === null) return "not an object";
  const { op, offset } = request as { op?: unknown; offset?: unknown };
  if (!isOffset(offset)) return `offset ${String(offset)} is not a non-negative integer`;
  switch (op) {
    case "write": {
      const data = (request as { data?: unknown }).data;
      return Buffer.isBuffer(data) ? { op, offset, data } : "write data is not a Buffer";
    }
    case "read": {
      const { length, into } = request as { length?: unknown; into?: unknown };
      if (!isOffset(length)) return `length ${String(length)} is not a non-negative integer`;
      if (into === undefined) return { op, offset, length };
      if (!Buffer.isBuffer(into) || into.length !== length) return `read target is not a Buffer of ${length} bytes`;
      return { op, offset, length, into };
    }
    default:
      return `unknown op ${String(op)}`;
  }
}

export type HandlePhase = "closed" | "opening" | "open" | "closing";

export interface PumpView {
  readonly phase: HandlePhase;
  readonly queued: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** The fd budget wants this worker's slot back. */
  readonly yieldRequested: boolean;
  /** The idle period ran out with nothing happening. */
  readonly idleExpired: boolean;
}

export type PumpStep =
  | { readonly kind: "open"; readonly queued: number }
  | { readonly kind: "start"; readonly count: number }
  | { readonly kind: "close"; readonly cause: "yield" | "idleTimeout" }
  /** Open with nothing to do: tell the budget, and close after the idle period. */
  | { readonly kind: "idle" }
  | { readonly kind: "wait"; readonly phase: HandlePhase; readonly inFlight: number };

export function nextStep(view: PumpView): PumpStep {
  const wait: PumpStep = { kind: "wait", phase: view.phase, inFlight: view.inFlight };
  switch (view.phase) {
    case "opening":
    case "closing":
      return wait;
    case "closed":
      return view.queued > 0 ? { kind: "open", queued: view.queued } : wait;
    case "open":
      if (view.yieldRequested) return view.inFlight === 0 ? { kind: "close", cause: "yield" } : wait;
      if (view.queued > 0 && view.inFlight < view.maxInFlight) {
        return { kind: "start", count: Math.min(view.queued, view.maxInFlight - view.inFlight) };
      }
      if (view.queued === 0 && view.inFlight === 0) return view.idleExpired ? { kind: "close", cause: "idleTimeout" } : { kind: "idle" };
      return wait;
    default: {
      const never: never = view.phase;
      throw new Error(`unknown phase ${String(never)}`);
    }
  }
}
