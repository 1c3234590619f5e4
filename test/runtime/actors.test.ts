import { describe, expect, it } from "vitest";
import { BadArgError, Reason, Scheduler, type Ctx, type Pid } from "../../src/runtime/index.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { settle } from "../../src/runtime/testkit.js";
import { deferred, harness } from "./harness.js";

describe("spawn, mailbox, one message at a time", () => {
  it("delivers messages in FIFO order per sender", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    const pid = rt.spawn((msg) => void seen.push(msg));
    for (let i = 0; i < 50; i++) rt.send(pid, i);
    await settle();
    expect(seen).toEqual([...Array(50).keys()]);
  });

  it("handles no other message while an async handler is pending", async () => {
    const { rt, settle } = harness();
    const gate = deferred();
    const log: string[] = [];
    const pid = rt.spawn(async (msg) => {
      log.push(`start ${String(msg)}`);
      if (msg === "a") await gate.promise;
      log.push(`end ${String(msg)}`);
    });
    rt.send(pid, "a");
    rt.send(pid, "b");
    await settle();
    expect(log).toEqual(["start a"]);
    expect(rt.info(pid)?.status).toBe("awaiting");
    expect(rt.info(pid)?.mailbox).toBe(1);
    gate.resolve();
    await settle();
    expect(log).toEqual(["start a", "end a", "start b", "end b"]);
  });

  it("a synchronous handler's non-thenable return value is ignored", async () => {
    const { rt, settle } = harness();
    const pid = rt.spawn(() => ({ then: 42 }));
    rt.send(pid, 1);
    rt.send(pid, 2);
    await settle();
    expect(rt.isAlive(pid)).toBe(true);
    expect(rt.info(pid)?.mailbox).toBe(0);
  });
});

describe("crashes", () => {
  it("a throw is a crash: the actor exits with {error}", async () => {
    const { rt, settle } = harness();
    const boom = new Error("boom");
    const pid = rt.spawn(() => {
      throw boom;
    });
    const exited = rt.awaitExit(pid);
    rt.send(pid, "x");
    await settle();
    expect(await exited).toEqual({ kind: "error", error: boom });
    expect(rt.isAlive(pid)).toBe(false);
  });

  it("a rejected promise is a crash", async () => {
    const { rt, settle } = harness();
    const pid = rt.spawn(async () => {
      await Promise.resolve();
      throw new Error("later");
    });
    const exited = rt.awaitExit(pid);
    rt.send(pid, "x");
    await settle();
    const reason = await exited;
    expect(reason.kind).toBe("error");
  });

  it("exitSelf(reason) exits with that reason", async () => {
    const { rt, settle } = harness();
    const pid = rt.spawn((_msg, ctx) => ctx.exitSelf(Reason.shutdown("done")));
    const exited = rt.awaitExit(pid);
    rt.send(pid, "x");
    await settle();
    expect(await exited).toEqual({ kind: "shutdown", detail: "done" });
  });

  it("messages queued behind a crash are dropped", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    const pid = rt.spawn((msg) => {
      seen.push(msg);
      if (msg === 2) throw new Error("stop here");
    });
    for (let i = 1; i <= 5; i++) rt.send(pid, i);
    await settle();
    expect(seen).toEqual([1, 2]);
  });
});

describe("sends to the dead and the unknown", () => {
  it("send to a dead pid is a no-op", async () => {
    const { rt, settle } = harness();
    const pid = rt.spawn(() => undefined);
    rt.exit(pid, Reason.kill);
    expect(() => rt.send(pid, "hello")).not.toThrow();
    await settle();
    expect(rt.processCount).toBe(0);
  });

  it("send to an unknown name throws a typed badarg error", () => {
    const { rt } = harness();
    expect(() => rt.send(["torrent", "nope"], "x")).toThrow(BadArgError);
  });

  it("cast to a dead pid or an unknown name is a no-op", () => {
    const { rt } = harness();
    const pid = rt.spawn(() => undefined);
    rt.exit(pid, Reason.kill);
    expect(() => rt.cast(pid, "x")).not.toThrow();
    expect(() => rt.cast("nobody", "x")).not.toThrow();
  });
});

describe("fair scheduling", () => {
  it("a busy actor cannot starve others: turns interleave by budget", async () => {
    const scheduler = new Scheduler({ budget: 10 });
    const rt = new Runtime({ scheduler, logger: { error: () => undefined, warn: () => undefined } });
    const order: string[] = [];
    const busy = rt.spawn((msg, ctx: Ctx) => {
      order.push("busy");
      const n = msg as number;
      if (n < 1000) ctx.send(ctx.self, n + 1); // floods its own mailbox forever-ish
    });
    const quiet = rt.spawn(() => void order.push("quiet"));
    rt.send(busy, 0);
    rt.send(quiet, "hi");
    await settle(scheduler);
    // The quiet actor ran after at most one budget of the busy one's messages.
    expect(order.indexOf("quiet")).toBeLessThanOrEqual(10);
    expect(order.filter((o) => o === "busy")).toHaveLength(1001);
  });
});

describe("outside callbacks enter as messages", () => {
  it("wrap: a throwing callback is the actor's crash, not an uncaught exception", async () => {
    const { rt, settle } = harness();
    let callback: ((x: number) => void) | undefined;
    const pid = rt.spawn((msg, ctx) => {
      if (msg === "arm") {
        callback = ctx.wrap((x: number) => {
          if (x > 1) throw new Error(`bad ${x}`);
        });
      }
    });
    rt.send(pid, "arm");
    await settle();
    const exited = rt.awaitExit(pid);
    callback?.(1);
    callback?.(2); // would be an uncaught exception in a bare callback
    await settle();
    expect((await exited).kind).toBe("error");
    expect(() => callback?.(3)).not.toThrow(); // no-op after exit
  });

  it("relay maps callback args to a message handled by the actor; pipe delivers promise results", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    let emit: ((chunk: string) => void) | undefined;
    const pid = rt.spawn((msg, ctx) => {
      if (msg === "arm") {
        emit = ctx.relay((chunk: string) => ({ type: "data", chunk }));
        ctx.pipe(Promise.resolve(7), (value) => ({ type: "loaded", value }));
        return;
      }
      seen.push(msg);
    });
    rt.send(pid, "arm");
    await settle();
    emit?.("abc");
    await settle();
    expect(seen).toEqual([
      { type: "loaded", value: 7 },
      { type: "data", chunk: "abc" },
    ]);
  });

  it("pipe: a rejected promise crashes the actor with its error", async () => {
    const { rt, settle } = harness();
    const failure = new Error("io failed");
    const pid = rt.spawn((msg, ctx) => {
      if (msg === "arm") ctx.pipe(Promise.reject(failure), () => "never");
    });
    const exited = rt.awaitExit(pid);
    rt.send(pid, "arm");
    await settle();
    expect(await exited).toEqual({ kind: "error", error: failure });
  });

  it("deliver puts a message in the actor's own mailbox from outside", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    let ctxRef: Ctx | undefined;
    const pid: Pid = rt.spawn((msg, ctx) => {
      ctxRef = ctx;
      seen.push(msg);
    });
    rt.send(pid, "first");
    await settle();
    ctxRef?.deliver("from outside");
    await settle();
    expect(seen).toEqual(["first", "from outside"]);
  });
});
