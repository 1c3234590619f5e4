import { describe, expect, it } from "vitest";
import { judgeRequest, MAX_QUEUED, MAX_READ_LENGTH, nextStep, type PumpView } from "../../actors/io/fileIoPlan.js";
import { DEFAULT_RETRY, retryVerdict } from "../../actors/io/retry.js";
import { FileIoError } from "../../actors/io/errors.js";
import { CallError, Reason } from "../../src/runtime/index.js";

describe("judgeRequest", () => {
  it("accepts in-range requests and answers empty ones at once", () => {
    expect(judgeRequest({ op: "read", offset: 90, length: 10 }, 100, 0).kind).toBe("accept");
    expect(judgeRequest({ op: "write", offset: 100, data: Buffer.alloc(0) }, 100, 0)).toEqual({ kind: "empty", reply: { kind: "written" } });
  });

  it("refuses ranges past the end, huge reads and a full queue, saying which", () => {
    expect(judgeRequest({ op: "read", offset: 91, length: 10 }, 100, 0)).toEqual({
      kind: "refuse",
      refusal: { kind: "outOfRange", offset: 91, length: 10, fileLength: 100 },
    });
    expect(judgeRequest({ op: "read", offset: 0, length: MAX_READ_LENGTH + 1 }, 2 ** 40, 0)).toMatchObject({ refusal: { kind: "tooLong" } });
    expect(judgeRequest({ op: "read", offset: 0, length: 1 }, 100, MAX_QUEUED)).toMatchObject({ refusal: { kind: "overloaded" } });
    expect(judgeRequest({ op: "read", offset: Number.MAX_SAFE_INTEGER + 1, length: 1 }, 100, 0)).toMatchObject({ refusal: { kind: "malformed" } });
  });

  it("takes a read target only as a Buffer of exactly the length read", () => {
    const into = Buffer.alloc(10);
    expect(judgeRequest({ op: "read", offset: 90, length: 10, into }, 100, 0)).toEqual({ kind: "accept", request: { op: "read", offset: 90, length: 10, into } });
    expect(judgeRequest({ op: "read", offset: 90, length: 10, into: Buffer.alloc(9) }, 100, 0)).toMatchObject({ refusal: { kind: "malformed" } });
    expect(judgeRequest({ op: "read", offset: 90, length: 10, into: new Uint8Array(10) }, 100, 0)).toMatchObject({ refusal: { kind: "malformed" } });
    expect(judgeRequest({ op: "read", offset: 100, length: 0, into: Buffer.alloc(0) }, 100, 0)).toEqual({ kind: "empty", reply: { kind: "read", data: Buffer.alloc(0) } });
  });
});

describe("nextStep", () => {
  const view = (over: Partial<PumpView>): PumpView => ({
    phase: "open",
    queued: 0,
    inFlight: 0,
    maxInFlight: 4,
    yieldRequested: false,
    idleExpired: false,
    ...over,
  });

  it("opens a closed handle only when work waits", () => {
    expect(nextStep(view({ phase: "closed", queued: 2 }))).toEqual({ kind: "open", queued: 2 });
    expect(nextStep(view({ phase: "closed" })).kind).toBe("wait");
    expect(nextStep(view({ phase: "opening", queued: 2 })).kind).toBe("wait");
    expect(nextStep(view({ phase: "closing", queued: 2 })).kind).toBe("wait");
  });

  it("starts as many ops as there is room in flight", () => {
    expect(nextStep(view({ queued: 10, inFlight: 1 }))).toEqual({ kind: "start", count: 3 });
    expect(nextStep(view({ queued: 10, inFlight: 4 })).kind).toBe("wait");
  });

  it("asked to yield: starts nothing new, closes once nothing is in flight", () => {
    expect(nextStep(view({ queued: 5, inFlight: 2, yieldRequested: true })).kind).toBe("wait");
    expect(nextStep(view({ queued: 5, yieldRequested: true }))).toEqual({ kind: "close", cause: "yield" });
  });

  it("idle: tells the budget; after the idle period: closes", () => {
    expect(nextStep(view({}))).toEqual({ kind: "idle" });
    expect(nextStep(view({ idleExpired: true }))).toEqual({ kind: "close", cause: "idleTimeout" });
    expect(nextStep(view({ idleExpired: true, inFlight: 1 })).kind).toBe("wait");
  });
});

describe("retryVerdict", () => {
  const died = (reason: Parameters<typeof Reason.error>[0] | undefined, kind: "noproc" | "killed" | "error") =>
    new CallError(kind === "error" ? Reason.error(reason) : Reason[kind], "file_io");

  it("retries a dead or restarting worker with a growing, capped delay", () => {
    expect(retryVerdict(died(undefined, "noproc"), 1, DEFAULT_RETRY)).toEqual({ kind: "retry", attempt: 2, delayMs: 50, cause: "noproc" });
    expect(retryVerdict(died(undefined, "killed"), 3, DEFAULT_RETRY)).toMatchObject({ kind: "retry", delayMs: 150 });
    expect(retryVerdict(died(new Error("EIO"), "error"), 15, DEFAULT_RETRY)).toMatchObject({ kind: "retry", delayMs: 500 });
  });

  it("gives up after the last attempt", () => {
    expect(retryVerdict(died(undefined, "noproc"), DEFAULT_RETRY.attempts, DEFAULT_RETRY)).toMatchObject({ kind: "exhausted", attempts: 20 });
  });

  it("fails at once on what a retry cannot fix: a refusal, a timeout, a shutdown", () => {
    const refusal = new FileIoError(0, "/x", { kind: "outOfRange", offset: 1, length: 1, fileLength: 1 });
    expect(retryVerdict(refusal, 1, DEFAULT_RETRY)).toEqual({ kind: "fail", error: refusal });
    expect(retryVerdict(new CallError({ kind: "timeout" }, "f"), 1, DEFAULT_RETRY).kind).toBe("fail");
    expect(retryVerdict(new CallError(Reason.shutdown(), "f"), 1, DEFAULT_RETRY).kind).toBe("fail");
  });
});
