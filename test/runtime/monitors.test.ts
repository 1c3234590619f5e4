import { describe, expect, it } from "vitest";
import { DownMsg, Reason, type Pid, type Ref } from "../../src/runtime/index.js";
import { harness } from "./harness.js";

describe("monitors", () => {
  it("deliver DOWN with the exit reason, one way (the watcher does not die)", async () => {
    const { rt, settle } = harness();
    const target = rt.spawn(() => {
      throw new Error("target crashed");
    });
    const seen: unknown[] = [];
    let ref: Ref | undefined;
    const watcher = rt.spawn((msg, ctx) => {
      if (msg === "watch") ref = ctx.monitor(target);
      else seen.push(msg);
    });
    rt.send(watcher, "watch");
    await settle();
    rt.send(target, "crash");
    await settle();
    expect(rt.isAlive(watcher)).toBe(true);
    expect(seen).toHaveLength(1);
    const down = seen[0] as DownMsg;
    expect(down).toBeInstanceOf(DownMsg);
    expect(down.ref).toBe(ref);
    expect(down.pid).toBe(target);
    expect(down.reason.kind).toBe("error");
  });

  it("are stackable: two monitors, two DOWNs with distinct refs", async () => {
    const { rt, settle } = harness();
    const target = rt.spawn(() => undefined);
    const seen: DownMsg[] = [];
    const refs: Ref[] = [];
    const watcher = rt.spawn((msg, ctx) => {
      if (msg === "watch") refs.push(ctx.monitor(target), ctx.monitor(target));
      else seen.push(msg as DownMsg);
    });
    rt.send(watcher, "watch");
    await settle();
    rt.exit(target, Reason.shutdown());
    await settle();
    expect(seen.map((d) => d.ref)).toEqual(refs);
    expect(seen.every((d) => d.reason.kind === "shutdown")).toBe(true);
  });

  it("monitoring a dead pid delivers DOWN noproc at once", async () => {
    const { rt, settle } = harness();
    const dead = rt.spawn(() => undefined);
    rt.exit(dead, Reason.kill);
    const seen: unknown[] = [];
    const watcher = rt.spawn((msg, ctx) => {
      if (msg === "watch") ctx.monitor(dead);
      else seen.push(msg);
    });
    rt.send(watcher, "watch");
    await settle();
    expect((seen[0] as DownMsg).reason).toEqual(Reason.noproc);
  });

  it("demonitor stops the DOWN; with flush it also removes one already queued", async () => {
    const { rt, settle } = harness();
    const a = rt.spawn(() => undefined);
    const b = rt.spawn(() => undefined);
    const seen: unknown[] = [];
    const results: boolean[] = [];
    let refA: Ref | undefined;
    let refB: Ref | undefined;
    const watcher = rt.spawn(async (msg, ctx) => {
      if (msg === "watch") {
        refA = ctx.monitor(a);
        refB = ctx.monitor(b);
      } else if (msg === "demonitor") {
        results.push(ctx.demonitor(refA as Ref)); // active monitor
        rt.exit(b, Reason.kill); // DOWN for b is now queued behind this message
        results.push(ctx.demonitor(refB as Ref, { flush: true })); // already fired: false, but flushed
      } else seen.push(msg);
    });
    rt.send(watcher, "watch");
    rt.send(watcher, "demonitor");
    await settle();
    rt.exit(a, Reason.kill);
    await settle();
    expect(results).toEqual([true, false]);
    expect(seen).toEqual([]);
  });

  it("spawnMonitor monitors atomically with the spawn", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    let child: { pid: Pid; ref: Ref } | undefined;
    const parent = rt.spawn((msg, ctx) => {
      if (msg === "go") child = ctx.spawnMonitor((_m, c) => c.exitSelf(Reason.shutdown("bye")));
      else seen.push(msg);
    });
    rt.send(parent, "go");
    await settle();
    rt.send(child?.pid as Pid, "die");
    await settle();
    expect(seen).toEqual([new DownMsg(child?.ref as Ref, child?.pid as Pid, Reason.shutdown("bye"))]);
  });

  it("a watcher's monitors are released when it exits (the target keeps no record)", async () => {
    const { rt, settle } = harness();
    const target = rt.spawn(() => undefined);
    const watcher = rt.spawn((_m, ctx) => void ctx.monitor(target));
    rt.send(watcher, "watch");
    await settle();
    expect(rt.info(target)?.monitoredBy).toBe(1);
    rt.exit(watcher, Reason.kill);
    expect(rt.info(target)?.monitoredBy).toBe(0);
  });
});
