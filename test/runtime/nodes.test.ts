import { describe, expect, it } from "vitest";
import { ManualClock, Reason, Runtime, settle, type Pid } from "../../src/runtime/index.js";

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
