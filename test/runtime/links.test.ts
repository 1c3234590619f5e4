import { describe, expect, it } from "vitest";
import { ExitMsg, Reason, type Ctx, type ExitReason, type Pid } from "../../src/runtime/index.js";
import { harness } from "./harness.js";

/** An actor that records every message and does nothing else. */
function recorder(seen: unknown[]) {
  return (msg: unknown): void => void seen.push(msg);
}

describe("links", () => {
  it("are bidirectional: an abnormal exit kills the linked process with the same reason", async () => {
    const { rt, settle } = harness();
    let child: Pid | undefined;
    const parent = rt.spawn((msg, ctx) => {
      if (msg === "spawn") child = ctx.spawnLink(() => undefined);
    });
    rt.send(parent, "spawn");
    await settle();
    const parentExit = rt.awaitExit(parent);
    rt.exit(child as Pid, Reason.error("bad"));
    expect(await parentExit).toEqual({ kind: "error", error: "bad" });

    // and the other direction
    let child2: Pid | undefined;
    const parent2 = rt.spawn((msg, ctx) => {
      if (msg === "spawn") child2 = ctx.spawnLink(() => undefined);
      if (msg === "crash") throw new Error("parent crash");
    });
    rt.send(parent2, "spawn");
    await settle();
    const childExit = rt.awaitExit(child2 as Pid);
    rt.send(parent2, "crash");
    await settle();
    expect((await childExit).kind).toBe("error");
  });

  it("a normal exit is ignored by a linked process that does not trap exits", async () => {
    const { rt, settle } = harness();
    let child: Pid | undefined;
    const parent = rt.spawn((msg, ctx) => {
      if (msg === "spawn") child = ctx.spawnLink((_m, c) => c.exitSelf(Reason.normal));
    });
    rt.send(parent, "spawn");
    await settle();
    rt.send(child as Pid, "go");
    await settle();
    expect(rt.isAlive(child as Pid)).toBe(false);
    expect(rt.isAlive(parent)).toBe(true);
  });

  it("trapExit turns exit signals into ExitMsg messages", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    let child: Pid | undefined;
    const parent = rt.spawn((msg, ctx) => {
      if (msg === "spawn") {
        ctx.trapExit(true);
        child = ctx.spawnLink(() => {
          throw new Error("child died");
        });
        return;
      }
      seen.push(msg);
    });
    rt.send(parent, "spawn");
    await settle();
    rt.send(child as Pid, "die");
    await settle();
    expect(rt.isAlive(parent)).toBe(true);
    expect(seen).toHaveLength(1);
    const exit = seen[0] as ExitMsg;
    expect(exit).toBeInstanceOf(ExitMsg);
    expect(exit.from).toBe(child);
    expect(exit.reason.kind).toBe("error");
  });

  it("kill cannot be trapped, and links and monitors see it as killed (which is trappable)", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    let victim: Pid | undefined;
    const watcher = rt.spawn((msg, ctx) => {
      if (msg === "spawn") {
        ctx.trapExit(true);
        victim = ctx.spawnLink((_m, c: Ctx) => c.trapExit(true), { trapExit: true });
        return;
      }
      seen.push(msg);
    });
    rt.send(watcher, "spawn");
    await settle();
    const victimExit = rt.awaitExit(victim as Pid);
    rt.exit(victim as Pid, Reason.kill);
    expect(await victimExit).toEqual(Reason.killed);
    await settle();
    expect(rt.isAlive(watcher)).toBe(true);
    expect((seen[0] as ExitMsg).reason).toEqual(Reason.killed);
  });

  it("a non-trapping process linked to a killed one dies with killed", async () => {
    const { rt, settle } = harness();
    let victim: Pid | undefined;
    const friend = rt.spawn((msg, ctx) => {
      if (msg === "spawn") victim = ctx.spawnLink(() => undefined);
    });
    rt.send(friend, "spawn");
    await settle();
    const friendExit = rt.awaitExit(friend);
    rt.exit(victim as Pid, Reason.kill);
    expect(await friendExit).toEqual(Reason.killed);
  });

  it("exit(pid, reason) from outside: shutdown kills a non-trapping process, normal does not", async () => {
    const { rt } = harness();
    const a = rt.spawn(() => undefined);
    rt.exit(a, Reason.normal);
    expect(rt.isAlive(a)).toBe(true);
    const exited = rt.awaitExit(a);
    rt.exit(a, Reason.shutdown({ why: "test" }));
    expect(await exited).toEqual({ kind: "shutdown", detail: { why: "test" } });
  });

  it("exit(self, normal) makes a non-trapping process exit normal", async () => {
    const { rt, settle } = harness();
    const pid = rt.spawn((_msg, ctx) => ctx.exit(ctx.self, Reason.normal));
    const exited = rt.awaitExit(pid);
    rt.send(pid, "go");
    await settle();
    expect(await exited).toEqual(Reason.normal);
  });

  it("a trapping process receives exit(pid, normal) as a message with the sender", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    const target = rt.spawn(recorder(seen), { trapExit: true });
    const sender = rt.spawn((_m, ctx) => ctx.exit(target, Reason.normal));
    rt.send(sender, "go");
    await settle();
    expect(seen).toEqual([new ExitMsg(sender, Reason.normal)]);
    expect(rt.isAlive(target)).toBe(true);
  });

  it("linking to a dead pid delivers noproc", async () => {
    const { rt, settle } = harness();
    const dead = rt.spawn(() => undefined);
    rt.exit(dead, Reason.kill);
    const seen: unknown[] = [];
    const trapper = rt.spawn((msg, ctx) => {
      if (msg === "link") ctx.link(dead);
      else seen.push(msg);
    }, { trapExit: true });
    rt.send(trapper, "link");
    await settle();
    expect(seen).toEqual([new ExitMsg(dead, Reason.noproc)]);

    const plain = rt.spawn((_m, ctx) => ctx.link(dead));
    const exited = rt.awaitExit(plain);
    rt.send(plain, "link");
    await settle();
    expect(await exited).toEqual(Reason.noproc);
  });

  it("unlink stops propagation", async () => {
    const { rt, settle } = harness();
    let child: Pid | undefined;
    const parent = rt.spawn((msg, ctx) => {
      if (msg === "spawn") child = ctx.spawnLink(() => undefined);
      if (msg === "unlink") ctx.unlink(child as Pid);
    });
    rt.send(parent, "spawn");
    rt.send(parent, "unlink");
    await settle();
    rt.exit(child as Pid, Reason.error("x"));
    await settle();
    expect(rt.isAlive(parent)).toBe(true);
    expect(rt.info(parent)?.links).toEqual([]);
  });

  it("propagates through a chain of 20,000 linked actors without recursion", async () => {
    const { rt, settle } = harness();
    const pids: Pid[] = [];
    for (let i = 0; i < 20_000; i++) pids.push(rt.spawn(() => undefined));
    // link i and i+1 from inside each actor
    for (let i = 0; i + 1 < pids.length; i++) {
      const next = pids[i + 1] as Pid;
      rt.send(pids[i] as Pid, next);
    }
    const linker = (msg: unknown, ctx: Ctx): void => ctx.link(msg as Pid);
    for (const pid of pids) {
      const proc = pid.proc;
      if (proc !== undefined) proc.state = linker;
    }
    await settle();
    const last = rt.awaitExit(pids[pids.length - 1] as Pid);
    rt.exit(pids[0] as Pid, Reason.error("chain"));
    const reason: ExitReason = await last;
    expect(reason).toEqual(Reason.error("chain"));
    expect(rt.processCount).toBe(0);
  });
});
