import { describe, expect, it } from "vitest";
import {
  defineServer,
  noreply,
  ok,
  Reason,
  startChild,
  startServer,
  startSupervisor,
  supervisorSpec,
  type Pid,
  type RuntimeEvent,
} from "../../src/runtime/index.js";
import { harness } from "./harness.js";

const peer = defineServer<null, string>({
  name: "peer",
  init: () => ok(null),
  handleCast: (msg, state) => {
    if (msg === "crash") throw new Error("peer crashed");
    return noreply(state);
  },
});

describe("snapshot", () => {
  it("shows pid, name, behaviour, status, mailbox length, restarts and children", async () => {
    const h = harness();
    const sup = await startSupervisor(
      supervisorSpec({
        name: "torrent_sup",
        strategy: "one_for_one",
        children: [
          { id: "ctl", start: () => startServer(peer, "x", { name: ["torrent_ctl", "ih"] }) },
          { id: "pool", type: "supervisor", start: () => startSupervisor(supervisorSpec({ name: "peer_pool", strategy: "simple_one_for_one", children: [{ id: "peer", restart: "temporary", start: (addr: string) => startServer(peer, addr) }] })) },
        ],
      }),
      { runtime: h.rt, name: ["torrent_sup", "ih"] },
    );
    const [, pool] = h.rt.snapshot()[0]?.children ?? [];
    await startChild(h.rt.whereis(["torrent_sup", "ih"]) as Pid, { id: "late", start: () => startServer(peer, "late") });
    const poolPid = h.rt.pids().find((p) => h.rt.info(p)?.behaviour === "peer_pool") as Pid;
    await startChild(poolPid, ["1.2.3.4:1"]);
    const idle = h.rt.spawn(() => undefined);
    h.rt.send(idle, "queued"); // not yet handled
    const roots = h.rt.snapshot();
    const top = roots.find((n) => n.pid === sup.toString());
    expect(top).toMatchObject({ name: "torrent_sup/ih", behaviour: "torrent_sup", status: "waiting", restarts: 0 });
    expect(top?.children.map((c) => c.behaviour)).toEqual(["peer", "peer_pool", "peer"]);
    expect(top?.children[0]?.name).toBe("torrent_ctl/ih");
    expect(top?.children[1]?.children.map((c) => c.behaviour)).toEqual(["peer"]);
    expect(pool?.behaviour).toBe("peer_pool");
    expect(roots.find((n) => n.pid === idle.toString())).toMatchObject({ status: "runnable", mailbox: 1 });
  });

  it("caps depth for long spawn chains instead of recursing", async () => {
    const h = harness();
    const spawnNext = (n: number) => (msg: unknown, ctx: import("../../src/runtime/index.js").Ctx): void => {
      if (msg === "go" && n > 0) ctx.send(ctx.spawn(spawnNext(n - 1)), "go");
    };
    h.rt.send(h.rt.spawn(spawnNext(200)), "go");
    await h.settle();
    const roots = h.rt.snapshot({ maxDepth: 50 });
    expect(roots.length).toBeGreaterThan(1);
    let depth = 0;
    for (let node = roots[0]; node !== undefined; node = node.children[0]) depth++;
    expect(depth).toBe(51);
  });
});

describe("event stream", () => {
  it("reports spawned, exited (with reason), restarted and escalated", async () => {
    const h = harness();
    const events: RuntimeEvent[] = [];
    const unsubscribe = h.rt.subscribe((e) => events.push(e));
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [{ id: "p", start: () => startServer(peer, "p", { name: "p" }) }] }), { runtime: h.rt });
    const first = h.rt.whereis("p") as Pid;
    h.rt.cast("p", "crash");
    await h.settle();
    h.rt.cast("p", "crash");
    await h.settle();
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === "spawned")).toHaveLength(3);
    expect(events.find((e) => e.type === "exited" && e.pid === first)).toMatchObject({ reason: { kind: "error" } });
    expect(events.find((e) => e.type === "restarted")).toMatchObject({ supervisor: sup, childId: "p", restarts: 1 });
    expect(events.find((e) => e.type === "escalated")).toMatchObject({ supervisor: sup, cause: "reached_max_restart_intensity" });
    expect(events.at(-1)).toMatchObject({ type: "exited", pid: sup, reason: Reason.shutdown() });
    unsubscribe();
    const count = events.length;
    h.rt.spawn(() => undefined);
    expect(events.length).toBe(count);
  });

  it("a child killed during its restart's init: restartFailed (the start error), then restarted by the retry", async () => {
    const h = harness();
    const events: RuntimeEvent[] = [];
    h.rt.subscribe((e) => events.push(e));
    let starts = 0;
    let inInit: ((pid: Pid) => void) | undefined;
    const slow = defineServer<null, string>({
      name: "slow",
      // The second start hangs in init (as a file worker opening its file) until it is killed.
      init: (_args, ctx) => (++starts === 2 ? new Promise(() => inInit?.(ctx.self)) : ok(null)),
      handleCast: (_msg, state) => noreply(state),
    });
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", intensity: 5, children: [{ id: "w", start: () => startServer(slow, null, { name: "w" }) }] }), { runtime: h.rt });
    const hung = new Promise<Pid>((resolve) => (inInit = resolve));
    h.rt.exit(h.rt.whereis("w") as Pid, Reason.kill);
    h.rt.exit(await hung, Reason.kill);
    await h.settle();
    const ofSup = events.filter((e) => (e.type === "restartFailed" || e.type === "restarted") && e.supervisor === sup);
    expect(ofSup.map((e) => e.type)).toEqual(["restartFailed", "restarted"]);
    expect(ofSup[0]).toMatchObject({ childId: "w", restarts: 1, reason: Reason.killed });
    expect(ofSup[1]).toMatchObject({ childId: "w", restarts: 2 });
    expect(starts).toBe(3);
    expect(h.rt.isAlive(h.rt.whereis("w") as Pid)).toBe(true);
  });

  it("a throwing listener is reported and does not disturb the runtime", async () => {
    const h = harness();
    h.rt.subscribe(() => {
      throw new Error("bad listener");
    });
    const pid = h.rt.spawn(() => undefined);
    h.rt.exit(pid, Reason.kill);
    expect(h.reports("listener_failed").length).toBe(2);
  });
});

describe("crash reports", () => {
  it("are written for abnormal exits only, with pid, behaviour and reason", async () => {
    const h = harness();
    const a = h.rt.spawn(() => {
      throw new Error("kaput");
    }, { name: "crasher" });
    h.rt.send(a, "x");
    const b = h.rt.spawn((_m, ctx) => ctx.exitSelf(Reason.shutdown("done")));
    h.rt.send(b, "x");
    const c = h.rt.spawn((_m, ctx) => ctx.exitSelf(Reason.normal));
    h.rt.send(c, "x");
    await h.settle();
    const reports = h.reports("crash_report");
    expect(reports).toHaveLength(1);
    expect(reports[0]?.obj).toMatchObject({ actor: a.toString(), name: "crasher", reason: "error: Error: kaput" });
    expect(reports[0]?.obj.err).toBeInstanceOf(Error);
  });

  it("a thousand peers dying at once log a bounded number of lines plus one 'suppressed N' summary", async () => {
    const h = harness({ burst: 20, perSecond: 10, summaryAfterMs: 1000 });
    const pool = await startSupervisor(
      supervisorSpec({ name: "peer_pool", strategy: "simple_one_for_one", children: [{ id: "peer", restart: "temporary", start: (addr: string) => startServer(peer, addr) }] }),
      { runtime: h.rt },
    );
    const peers: Pid[] = [];
    for (let i = 0; i < 1000; i++) peers.push((await startChild(pool, [`10.0.${i >> 8}.${i & 255}:6881`])) as Pid);
    for (const p of peers) h.rt.cast(p, "crash");
    await h.settle();
    expect(h.rt.isAlive(pool)).toBe(true);
    // 1000 crash reports + 1000 child_terminated reports were due
    expect(h.logs.length).toBe(20);
    await h.advance(1000);
    const summary = h.reports("suppressed");
    expect(summary).toHaveLength(1);
    expect(summary[0]?.obj.suppressed).toBe(1980);
    // the burst went to the first crash reports; everything after was counted, not logged
    expect(summary[0]?.obj.byKind).toEqual({ crash_report: 980, child_terminated: 1000 });
    expect(h.logs.length).toBe(21);
  });
});
