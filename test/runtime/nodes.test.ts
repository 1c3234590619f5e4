import { describe, expect, it } from "vitest";
import {
  call,
  cast,
  CallMsg,
  defaultRuntime,
  defineServer,
  ManualClock,
  noreply,
  ok,
  Reason,
  reply,
  Runtime,
  send,
  settle,
  spawn,
  startServer,
  stopProcess,
  whereis,
  type Pid,
} from "../../src/runtime/index.js";

const quiet = { error: () => undefined, warn: () => undefined };

describe("several runtimes (nodes) in one process", () => {
  it("keep separate registries, clocks and process tables, while pids work across them", async () => {
    const a = new Runtime({ clock: new ManualClock(), logger: quiet, label: "node-a" });
    const b = new Runtime({ clock: new ManualClock(), logger: quiet, label: "node-b" });
    expect(a.node).not.toBe(b.node);
    const seen: unknown[] = [];
    const inB = b.spawn((msg) => void seen.push(msg), { name: "tracker" });
    a.spawn(() => undefined, { name: "tracker" }); // same name, other node: no conflict
    expect(a.whereis("tracker")).not.toBe(b.whereis("tracker"));
    const inA = a.spawn((msg, ctx) => ctx.send(inB, `from a: ${String(msg)}`));
    a.send(inA, "hello");
    await settle();
    expect(seen).toEqual(["from a: hello"]);
    expect(a.processCount).toBe(2);
    expect(b.processCount).toBe(1);
  });

  it("links and monitors cross nodes; children spawned by an actor live on its node", async () => {
    const a = new Runtime({ logger: quiet });
    const b = new Runtime({ logger: quiet });
    let child: Pid | undefined;
    const parent = b.spawn((msg, ctx) => {
      if (msg === "spawn") child = ctx.spawnLink(() => undefined);
    });
    b.send(parent, "spawn");
    await settle();
    expect(b.info(child as Pid)).toBeDefined();
    expect(a.info(child as Pid)).toBeUndefined();
    const watcher = a.spawn((msg, ctx) => {
      if (msg === "link") ctx.link(parent);
    });
    a.send(watcher, "link");
    await settle();
    const exited = a.awaitExit(watcher);
    b.exit(child as Pid, Reason.error("cross-node crash"));
    expect(await exited).toEqual(Reason.error("cross-node crash"));
  });
});

describe("the default runtime and the free functions", () => {
  it("spawn/send/call/cast/whereis/stopProcess act on the default runtime outside actors", async () => {
    const seen: unknown[] = [];
    const pid = spawn(
      (msg, ctx) => {
        if (msg instanceof CallMsg) ctx.replyTo(msg.from, "pong");
        else seen.push(msg);
      },
      { name: "free-fn-test" },
    );
    expect(whereis("free-fn-test")).toBe(pid);
    expect(defaultRuntime().isAlive(pid)).toBe(true);
    send("free-fn-test", "hi");
    cast(pid, "ignored by a raw actor? no: it is a CastMsg");
    expect(await call("free-fn-test", "ping")).toBe("pong");
    expect(seen[0]).toBe("hi");
    expect(await stopProcess(pid, Reason.shutdown())).toEqual(Reason.shutdown());
    expect(whereis("free-fn-test")).toBeUndefined();
  });

  it("a server started from inside an actor lives on that actor's runtime", async () => {
    const b = new Runtime({ logger: quiet });
    const server = defineServer<number>({
      name: "counter",
      init: () => ok(0),
      handleCall: (_req, _from, n) => reply(n + 1, n + 1),
      handleCast: (_msg, n) => noreply(n),
    });
    let started: Pid | undefined;
    const starter = b.spawn(async () => {
      started = (await startServer(server, undefined, { name: "counter" })) as Pid;
    });
    b.send(starter, "go");
    await settle();
    expect(b.whereis("counter")).toBe(started);
    expect(defaultRuntime().whereis("counter")).toBeUndefined();
    expect(b.info(started as Pid)?.links).toEqual([starter]);
  });
});
