import { describe, expect, it } from "vitest";
import {
  CallError,
  CallMsg,
  defineServer,
  noreply,
  ok,
  Reason,
  reply,
  startServer,
  stop,
  type From,
  type Pid,
} from "../../src/runtime/index.js";
import { deferred, harness } from "./harness.js";

type Req = { op: "echo"; value: number } | { op: "defer" } | { op: "release"; value: number } | { op: "never" } | { op: "die" };

const echo = defineServer<{ waiting: From[] }, void, Req>({
  name: "echo",
  init: () => ok({ waiting: [] }),
  handleCall(req, from, state, ctx) {
    switch (req.op) {
      case "echo":
        return reply(req.value, state);
      case "defer":
        return noreply({ waiting: [...state.waiting, from] });
      case "release":
        for (const waiting of state.waiting) ctx.replyTo(waiting, req.value);
        return reply("released", { waiting: [] });
      case "never":
        return noreply(state);
      case "die":
        return stop(Reason.error("died mid-call"), state);
    }
  },
});

async function rejection(promise: Promise<unknown>): Promise<CallError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CallError) return error;
    throw error;
  }
  throw new Error("expected a CallError");
}

describe("call", () => {
  it("returns the reply", async () => {
    const { rt } = harness();
    const pid = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    expect(await rt.call(pid, { op: "echo", value: 42 })).toBe(42);
  });

  it("supports deferred replies (noreply, then replyTo(from))", async () => {
    const { rt } = harness();
    const pid = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    const first = rt.call(pid, { op: "defer" });
    const second = rt.call(pid, { op: "defer" });
    expect(await rt.call(pid, { op: "release", value: 7 })).toBe("released");
    expect(await Promise.all([first, second])).toEqual([7, 7]);
  });

  it("rejects {timeout} after timeoutMs on the runtime clock; the late reply is dropped and nothing leaks", async () => {
    const { rt, advance } = harness();
    const pid = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    const pending = rt.call(pid, { op: "defer" }, 1000);
    await advance(999);
    expect(rt.info(pid)?.monitoredBy).toBe(1);
    const error = rejection(pending);
    await advance(1);
    expect((await error).reason).toEqual({ kind: "timeout" });
    expect(rt.info(pid)?.monitoredBy).toBe(0); // the call's monitor is gone
    // the late reply goes nowhere and breaks nothing
    expect(await rt.call(pid, { op: "release", value: 1 })).toBe("released");
    expect(rt.info(pid)?.monitoredBy).toBe(0);
    expect(rt.isAlive(pid)).toBe(true);
  });

  it("the default timeout is 5000 ms", async () => {
    const { rt, advance } = harness();
    const pid = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    const error = rejection(rt.call(pid, { op: "never" }));
    await advance(4999);
    await advance(1);
    expect((await error).reason.kind).toBe("timeout");
  });

  it("rejects with the callee's exit reason when it dies mid-call", async () => {
    const { rt } = harness();
    const pid = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    const error = await rejection(rt.call(pid, { op: "die" }));
    expect(error.reason).toEqual(Reason.error("died mid-call"));
    const killedWhileWaiting = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    const pending = rejection(rt.call(killedWhileWaiting, { op: "never" }));
    rt.exit(killedWhileWaiting, Reason.kill);
    expect((await pending).reason).toEqual(Reason.killed);
  });

  it("rejects noproc for a dead pid and for an unknown name", async () => {
    const { rt } = harness();
    const pid = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    rt.exit(pid, Reason.kill);
    expect((await rejection(rt.call(pid, { op: "echo", value: 1 }))).reason).toEqual(Reason.noproc);
    expect((await rejection(rt.call(["nobody", 1], { op: "echo", value: 1 }))).reason).toEqual(Reason.noproc);
  });

  it("ctx.call and rt.call agree: an unknown or malformed name rejects noproc (never throws), labelled as a name", async () => {
    const { rt, settle } = harness();
    const targets: [string, unknown][] = [
      ["unknown", ["nobody", 1]],
      ["empty array", []],
      ["empty string", ""],
      ["object part", ["peer", {}]],
      ["too many parts", Array.from({ length: 17 }, () => "x")],
    ];
    const outcomes = new Map<string, unknown>();
    const caller = rt.spawn((_msg, ctx) => {
      for (const [label, to] of targets) {
        try {
          ctx.call(to as string, "x").then(
            () => outcomes.set(label, "resolved"),
            (error: unknown) => outcomes.set(label, error),
          );
        } catch (error) {
          outcomes.set(label, { thrown: error });
        }
      }
    });
    rt.send(caller, "go");
    await settle();
    expect(rt.isAlive(caller)).toBe(true);
    for (const [label, to] of targets) {
      const fromCtx = outcomes.get(label);
      expect(fromCtx, label).toBeInstanceOf(CallError);
      expect((fromCtx as CallError).reason, label).toEqual(Reason.noproc);
      const fromRt = await rejection(rt.call(to as string, "x"));
      expect((fromCtx as CallError).message, label).toBe(fromRt.message);
    }
    expect((outcomes.get("unknown") as CallError).target).toBe("nobody/1");
  });

  it("works by registered name", async () => {
    const { rt } = harness();
    await startServer(echo, undefined, { runtime: rt, name: ["echo", "a"] });
    expect(await rt.call(["echo", "a"], { op: "echo", value: 3 })).toBe(3);
  });

  it("a raw actor can answer calls with replyTo", async () => {
    const { rt } = harness();
    const pid = rt.spawn((msg, ctx) => {
      if (msg instanceof CallMsg) ctx.replyTo(msg.from, { got: msg.request });
    });
    expect(await rt.call(pid, "hi")).toEqual({ got: "hi" });
  });

  it("calling oneself rejects calling_self instead of deadlocking", async () => {
    const { rt, settle } = harness();
    const result = deferred<unknown>();
    const pid = rt.spawn((_msg, ctx) => {
      ctx.call(ctx.self, "x").then(result.resolve, result.resolve);
    });
    rt.send(pid, "go");
    await settle();
    expect(await result.promise).toMatchObject({ reason: { kind: "calling_self" } });
  });

  it("a call made with ctx.call is abandoned when the caller dies: its monitor and timer are released", async () => {
    const { rt, settle, clock } = harness();
    const server = (await startServer(echo, undefined, { runtime: rt })) as Pid;
    const caller = rt.spawn((_msg, ctx) => {
      void ctx.call(server, { op: "never" }, 60_000).catch(() => undefined);
    });
    rt.send(caller, "go");
    await settle();
    expect(rt.info(server)?.monitoredBy).toBe(1);
    const timersBefore = clock.pending;
    rt.exit(caller, Reason.kill);
    expect(rt.info(server)?.monitoredBy).toBe(0);
    expect(clock.pending).toBe(timersBefore - 1);
  });
});

describe("cast", () => {
  it("is fire-and-forget and reaches handleCast", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    const server = defineServer<null>({
      name: "caster",
      init: () => ok(null),
      handleCast: (msg, state) => {
        seen.push(msg);
        return noreply(state);
      },
    });
    const pid = (await startServer(server, undefined, { runtime: rt })) as Pid;
    rt.cast(pid, "one");
    rt.cast(pid, "two");
    await settle();
    expect(seen).toEqual(["one", "two"]);
  });
});
