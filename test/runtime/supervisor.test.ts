import { describe, expect, it } from "vitest";
import {
  ChildSpecError,
  countChildren,
  deleteChild,
  Reason,
  restartChild,
  startChild,
  StartError,
  startSupervisor,
  SupervisorError,
  supervisorSpec,
  terminateChild,
  validateSupervisorSpec,
  whichChildren,
  type ChildSpec,
  type Pid,
  type RuntimeEvent,
  type Strategy,
} from "../../src/runtime/index.js";
import { harness, type Harness } from "./harness.js";
import { crashReason, world, type World } from "./supWorld.js";

async function setup(strategy: Strategy, ids: string[], flags: { intensity?: number; period?: number } = {}): Promise<{ h: Harness; w: World; sup: Pid }> {
  const h = harness();
  const w = world(h);
  const sup = await startSupervisor(
    supervisorSpec({ strategy, ...flags, children: ids.map((id) => w.worker(id)) }),
    { runtime: h.rt },
  );
  await h.settle();
  return { h, w, sup };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("strategies", () => {
  it("start children in list order", async () => {
    const { w } = await setup("one_for_one", ["a", "b", "c"]);
    expect(w.take()).toEqual(["start:a", "start:b", "start:c"]);
  });

  it("one_for_one restarts only the failed child", async () => {
    const { h, w } = await setup("one_for_one", ["a", "b", "c"]);
    w.take();
    const before = w.pidOf("b");
    w.crash("b", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:b:error", "start:b"]); // its own terminate, then the restart
    expect(w.pidOf("b")).not.toBe(before);
  });

  it("one_for_all stops the others in reverse start order, then starts all in order", async () => {
    const { h, w } = await setup("one_for_all", ["a", "b", "c", "d"], { intensity: 5 });
    w.take();
    w.crash("b", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:b:error", "stop:d:shutdown", "stop:c:shutdown", "stop:a:shutdown", "start:a", "start:b", "start:c", "start:d"]);
  });

  it("rest_for_one stops the later children in reverse order, then restarts the failed one and those", async () => {
    const { h, w } = await setup("rest_for_one", ["a", "b", "c", "d"], { intensity: 5 });
    w.take();
    w.crash("b", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:b:error", "stop:d:shutdown", "stop:c:shutdown", "start:b", "start:c", "start:d"]);
  });
});

describe("restart intensity", () => {
  it("defaults to 1 restart in 5 s: the second crash within the window stops all children in reverse order and exits shutdown", async () => {
    const { h, w, sup } = await setup("one_for_one", ["a", "b", "c"]);
    const events: RuntimeEvent[] = [];
    h.rt.subscribe((e) => events.push(e));
    w.take();
    const exited = h.rt.awaitExit(sup);
    w.crash("a", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:a:error", "start:a"]);
    await h.advance(4999);
    w.crash("a", crashReason);
    await h.settle();
    expect(await exited).toEqual(Reason.shutdown());
    expect(w.take()).toEqual(["stop:a:error", "stop:c:shutdown", "stop:b:shutdown"]);
    expect(h.reports("reached_max_restart_intensity")).toHaveLength(1);
    expect(events.some((e) => e.type === "escalated" && e.supervisor === sup && e.cause === "reached_max_restart_intensity")).toBe(true);
  });

  it("is counted per supervisor across all children", async () => {
    const { h, w, sup } = await setup("one_for_one", ["a", "b"], { intensity: 2, period: 1000 });
    const exited = h.rt.awaitExit(sup);
    w.crash("a", crashReason);
    await h.settle();
    w.crash("b", crashReason);
    await h.settle();
    expect(h.rt.isAlive(sup)).toBe(true);
    w.crash("a", crashReason);
    await h.settle();
    expect(await exited).toEqual(Reason.shutdown());
  });

  it("restarts older than period are forgotten (manual clock)", async () => {
    const { h, w, sup } = await setup("one_for_one", ["a"], { intensity: 1, period: 1000 });
    for (let i = 0; i < 5; i++) {
      w.crash("a", crashReason);
      await h.settle();
      await h.advance(1000);
    }
    expect(h.rt.isAlive(sup)).toBe(true);
  });

  it("escalates: the parent applies its own policy to the supervisor that gave up", async () => {
    const h = harness();
    const w = world(h);
    const inner = supervisorSpec({ name: "inner_sup", strategy: "one_for_one", intensity: 0, children: [w.worker("x")] });
    const top = await startSupervisor(
      supervisorSpec({
        name: "top_sup",
        strategy: "one_for_one",
        intensity: 3,
        children: [{ id: "inner", type: "supervisor", start: () => startSupervisor(inner) }],
      }),
      { runtime: h.rt },
    );
    await h.settle();
    const [innerInfo] = await whichChildren(top);
    const innerPid = innerInfo?.pid as Pid;
    const events: RuntimeEvent[] = [];
    h.rt.subscribe((e) => events.push(e));
    w.take();
    w.crash("x", crashReason);
    await h.settle();
    expect(h.rt.isAlive(innerPid)).toBe(false);
    const [again] = await whichChildren(top);
    expect(again?.pid).toBeInstanceOf(Object);
    expect(again?.pid).not.toBe(innerPid);
    expect(w.take()).toEqual(["stop:x:error", "start:x"]);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["escalated", "restarted"]));
    const restarted = events.find((e) => e.type === "restarted");
    expect(restarted).toMatchObject({ supervisor: top, childId: "inner", reason: Reason.shutdown() });
  });
});

describe("restart types", () => {
  it("transient: restarted only after an abnormal exit", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", intensity: 10, children: [w.worker("t", { restart: "transient" })] }), { runtime: h.rt });
    w.take();
    w.crash("t", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:t:error", "start:t"]);
    w.crash("t", Reason.shutdown("bye"));
    await h.settle();
    expect(w.take()).toEqual(["stop:t:shutdown"]);
    expect(await whichChildren(sup)).toEqual([{ id: "t", pid: undefined, type: "worker", restart: "transient" }]);
    // normal too
    await restartChild(sup, "t");
    w.take();
    w.crash("t", Reason.normal);
    await h.settle();
    expect(w.take()).toEqual(["stop:t:normal"]);
  });

  it("temporary: never restarted and forgotten, but an abnormal exit is still reported", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [w.worker("p"), w.worker("tmp", { restart: "temporary" })] }), { runtime: h.rt });
    w.take();
    w.crash("tmp", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:tmp:error"]);
    expect((await whichChildren(sup)).map((c) => c.id)).toEqual(["p"]);
    expect(h.reports("child_terminated")).toHaveLength(1);
  });

  it("permanent: restarted after any exit, normal included", async () => {
    const { h, w } = await setup("one_for_one", ["p"], { intensity: 5 });
    w.take();
    w.crash("p", Reason.normal);
    await h.settle();
    expect(w.take()).toEqual(["stop:p:normal", "start:p"]);
  });
});

describe("shutdown", () => {
  it("brutal_kill kills the child: terminate does not run", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [w.worker("k", { shutdown: "brutal_kill" })] }), { runtime: h.rt });
    const child = w.pidOf("k") as Pid;
    const exited = h.rt.awaitExit(child);
    w.take();
    await terminateChild(sup, "k");
    expect(await exited).toEqual(Reason.killed);
    expect(w.take()).toEqual([]);
  });

  it("a timeout sends shutdown, waits that long for the exit on the clock, then kills", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [w.worker("slow", { shutdown: 300, hangOnStop: true })] }), { runtime: h.rt });
    const child = w.pidOf("slow") as Pid;
    let reason: unknown;
    void h.rt.awaitExit(child).then((r) => (reason = r));
    const done = terminateChild(sup, "slow");
    await h.advance(299);
    expect(reason).toBeUndefined();
    expect(h.rt.info(child)?.status).toBe("exiting"); // terminate is hanging
    await h.advance(1);
    await done;
    expect(reason).toEqual(Reason.killed);
    expect(h.reports("shutdown_error")).toHaveLength(1);
  });

  it("infinity waits for the child however long it takes", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [w.worker("inf", { shutdown: "infinity", hangOnStop: true })] }), { runtime: h.rt });
    const child = w.pidOf("inf") as Pid;
    let finished = false;
    void terminateChild(sup, "inf").then(() => (finished = true));
    await h.advance(3_600_000);
    expect(finished).toBe(false);
    expect(h.rt.isAlive(child)).toBe(true);
    h.rt.exit(child, Reason.kill);
    await h.settle();
    expect(finished).toBe(true);
  });

  it("defaults: 5000 ms for workers, infinity for supervisors", () => {
    const start = (): Promise<Pid> => Promise.reject(new Error("unused"));
    const { children } = validateSupervisorSpec({
      strategy: "one_for_one",
      children: [
        { id: "w", start },
        { id: "s", start, type: "supervisor" },
      ],
    });
    expect(children.map((c) => c.shutdown)).toEqual([5000, "infinity"]);
    expect(children.map((c) => c.restart)).toEqual(["permanent", "permanent"]);
  });

  it("a supervisor stopped by its parent stops its children in reverse order", async () => {
    const { h, w, sup } = await setup("one_for_one", ["a", "b", "c"]);
    w.take();
    await h.rt.stop(sup, Reason.shutdown());
    expect(w.take()).toEqual(["stop:c:shutdown", "stop:b:shutdown", "stop:a:shutdown"]);
  });
});

describe("start", () => {
  it("a child that fails to start fails the supervisor's start and stops the started ones in reverse order", async () => {
    const h = harness();
    const w = world(h);
    const failing: ChildSpec = { id: "bad", start: () => Promise.reject(new Error("cannot start")) };
    const error = await caught(startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [w.worker("a"), w.worker("b"), failing, w.worker("c")] }), { runtime: h.rt }));
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).reason).toMatchObject({ kind: "shutdown", detail: { failed_to_start_child: "bad" } });
    expect(w.take()).toEqual(["start:a", "start:b", "stop:b:shutdown", "stop:a:shutdown"]);
    expect(h.reports("start_error")).toHaveLength(1);
    expect(h.rt.processCount).toBe(0);
  });

  it("ignore keeps the spec with no pid", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [{ id: "maybe", start: () => "ignore" }, w.worker("a")] }), { runtime: h.rt });
    expect(await whichChildren(sup)).toEqual([
      { id: "maybe", pid: undefined, type: "worker", restart: "permanent" },
      { id: "a", pid: w.pidOf("a"), type: "worker", restart: "permanent" },
    ]);
  });

  it("an invalid spec is refused at start with an error naming the field", async () => {
    const h = harness();
    const start = (): "ignore" => "ignore";
    const cases: [unknown, string][] = [
      [{ strategy: "one_for_most", children: [] }, "strategy"],
      [{ strategy: "one_for_one", intensity: -1, children: [] }, "intensity"],
      [{ strategy: "one_for_one", period: 0, children: [] }, "period"],
      [{ strategy: "one_for_one", children: "nope" }, "children"],
      [{ strategy: "one_for_one", children: [{ start }] }, "id"],
      [{ strategy: "one_for_one", children: [{ id: "x" }] }, "start"],
      [{ strategy: "one_for_one", children: [{ id: "x", start, restart: "sometimes" }] }, "restart"],
      [{ strategy: "one_for_one", children: [{ id: "x", start, shutdown: -5 }] }, "shutdown"],
      [{ strategy: "one_for_one", children: [{ id: "x", start, type: "daemon" }] }, "type"],
      [{ strategy: "one_for_one", children: [{ id: "x", start, restart: "transient", significant: true }] }, "significant"],
      [{ strategy: "one_for_one", autoShutdown: "any_significant", children: [{ id: "x", start, significant: true }] }, "significant"],
      [{ strategy: "one_for_one", children: [{ id: "x", start }, { id: "x", start }] }, "id"],
      [{ strategy: "simple_one_for_one", children: [] }, "children"],
    ];
    for (const [spec, field] of cases) {
      const error = await caught(startSupervisor(spec as never, { runtime: h.rt }));
      expect(error).toBeInstanceOf(ChildSpecError);
      expect((error as ChildSpecError).field).toBe(field);
      expect((error as Error).message).toContain(`"${field}"`);
    }
    expect(h.rt.processCount).toBe(0);
  });
});

describe("administration", () => {
  it("startChild, already_started / already_present, terminateChild, restartChild, deleteChild, countChildren", async () => {
    const { h, w, sup } = await setup("one_for_one", ["a"]);
    const b = await startChild(sup, w.worker("b"));
    expect(b).toBe(w.pidOf("b"));
    const dup = (await caught(startChild(sup, w.worker("b")))) as SupervisorError;
    expect(dup).toBeInstanceOf(SupervisorError);
    expect(dup.code).toBe("already_started");
    expect(dup.pid).toBe(b);
    await terminateChild(sup, "b");
    expect(((await caught(startChild(sup, w.worker("b")))) as SupervisorError).code).toBe("already_present");
    expect(((await caught(deleteChild(sup, "a"))) as SupervisorError).code).toBe("running");
    expect(((await caught(restartChild(sup, "a"))) as SupervisorError).code).toBe("running");
    const b2 = await restartChild(sup, "b");
    expect(b2).toBe(w.pidOf("b"));
    await terminateChild(sup, "b");
    await deleteChild(sup, "b");
    expect(((await caught(terminateChild(sup, "b"))) as SupervisorError).code).toBe("not_found");
    expect(await countChildren(sup)).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 });
    const invalid = (await caught(startChild(sup, { id: "z", start: () => "ignore", shutdown: "later" } as never))) as SupervisorError;
    expect(invalid.code).toBe("invalid_child_spec");
    expect(invalid.message).toContain('"shutdown"');
    await h.settle();
  });
});

describe("simple_one_for_one", () => {
  it("starts children from the template with extra args; no restartChild/deleteChild by id", async () => {
    const h = harness();
    const w = world(h);
    const started: string[] = [];
    const template: ChildSpec = {
      id: "peer",
      restart: "temporary",
      start: (addr: string) => {
        started.push(addr);
        return w.worker(addr).start();
      },
    };
    const pool = await startSupervisor(supervisorSpec({ name: "peer_pool", strategy: "simple_one_for_one", children: [template] }), { runtime: h.rt });
    const p1 = await startChild(pool, ["10.0.0.1:6881"]);
    await startChild(pool, ["10.0.0.2:6881"]);
    expect(started).toEqual(["10.0.0.1:6881", "10.0.0.2:6881"]);
    expect(await countChildren(pool)).toEqual({ specs: 1, active: 2, supervisors: 0, workers: 2 });
    expect(((await caught(restartChild(pool, "peer"))) as SupervisorError).code).toBe("simple_one_for_one");
    expect(((await caught(deleteChild(pool, "peer"))) as SupervisorError).code).toBe("simple_one_for_one");
    expect(((await caught(terminateChild(pool, "peer"))) as SupervisorError).code).toBe("simple_one_for_one");
    await terminateChild(pool, p1 as Pid);
    expect((await whichChildren(pool)).map((c) => c.pid)).toEqual([w.pidOf("10.0.0.2:6881")]);
  });

  it("restarts a permanent dynamic child with its args", async () => {
    const h = harness();
    const w = world(h);
    const pool = await startSupervisor(
      supervisorSpec({ strategy: "simple_one_for_one", children: [{ id: "t", start: (id: string) => w.worker(id).start() }] }),
      { runtime: h.rt },
    );
    await startChild(pool, ["x1"]);
    w.take();
    w.crash("x1", crashReason);
    await h.settle();
    expect(w.take()).toEqual(["stop:x1:error", "start:x1"]);
  });

  it("stops its children concurrently on shutdown", async () => {
    const h = harness();
    const w = world(h);
    const pool = await startSupervisor(
      supervisorSpec({ strategy: "simple_one_for_one", children: [{ id: "t", shutdown: 1000, start: (id: string) => w.worker(id, { hangOnStop: true }).start() }] }),
      { runtime: h.rt },
    );
    const pids = [];
    for (const id of ["a", "b", "c"]) pids.push((await startChild(pool, [id])) as Pid);
    void h.rt.stop(pool, Reason.shutdown());
    await h.settle();
    // all three are in terminate at the same time: none was waited for before the next was told
    expect(pids.map((p) => h.rt.info(p)?.status)).toEqual(["exiting", "exiting", "exiting"]);
    await h.advance(1000);
    expect(pids.every((p) => !h.rt.isAlive(p))).toBe(true);
    expect(h.rt.isAlive(pool)).toBe(false);
  });
});

describe("auto_shutdown", () => {
  it("any_significant: the supervisor exits shutdown when a significant child ends for good", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(
      supervisorSpec({ strategy: "one_for_one", autoShutdown: "any_significant", children: [w.worker("ctl", { restart: "transient", significant: true }), w.worker("other")] }),
      { runtime: h.rt },
    );
    const exited = h.rt.awaitExit(sup);
    w.crash("ctl", Reason.normal);
    expect(await exited).toEqual(Reason.shutdown());
    expect(h.rt.isAlive(w.pidOf("other") ?? (sup as Pid))).toBe(false);
  });

  it("an exit that leads to a restart does not count", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(
      supervisorSpec({ strategy: "one_for_one", autoShutdown: "any_significant", intensity: 5, children: [w.worker("ctl", { restart: "transient", significant: true })] }),
      { runtime: h.rt },
    );
    w.crash("ctl", crashReason);
    await h.settle();
    expect(h.rt.isAlive(sup)).toBe(true);
  });

  it("all_significant: only when the last significant child ends", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(
      supervisorSpec({
        strategy: "one_for_one",
        autoShutdown: "all_significant",
        children: [w.worker("s1", { restart: "temporary", significant: true }), w.worker("s2", { restart: "transient", significant: true })],
      }),
      { runtime: h.rt },
    );
    w.crash("s1", crashReason);
    await h.settle();
    expect(h.rt.isAlive(sup)).toBe(true);
    const exited = h.rt.awaitExit(sup);
    w.crash("s2", Reason.shutdown());
    expect(await exited).toEqual(Reason.shutdown());
  });

  it("terminateChild of a significant child does not trigger it", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(
      supervisorSpec({ strategy: "one_for_one", autoShutdown: "any_significant", children: [w.worker("ctl", { restart: "transient", significant: true })] }),
      { runtime: h.rt },
    );
    await terminateChild(sup, "ctl");
    await h.settle();
    expect(h.rt.isAlive(sup)).toBe(true);
  });
});

describe("misbehaving children never crash the supervisor", () => {
  it("a child whose start throws, returns garbage, or whose init crashes on restart: retried, then escalated in order", async () => {
    const h = harness();
    let attempts = 0;
    const flaky: ChildSpec = {
      id: "flaky",
      start: () => {
        attempts++;
        if (attempts === 1) return h.rt.spawn(() => undefined); // a fine first start
        if (attempts === 2) throw new Error("sync throw");
        return 42 as never; // garbage
      },
    };
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", intensity: 3, period: 10_000, children: [flaky] }), { runtime: h.rt });
    const exited = h.rt.awaitExit(sup);
    const [info] = await whichChildren(sup);
    h.rt.exit(info?.pid as Pid, Reason.error("first crash"));
    expect(await exited).toEqual(Reason.shutdown()); // an orderly shutdown, not a crash
    expect(attempts).toBe(4); // 1 start + 3 restart attempts within intensity
    expect(h.reports("start_error").length).toBe(3);
    expect(h.reports("crash_report").filter((r) => String(r.obj.behaviour).includes("supervisor"))).toEqual([]);
  });

  it("a child exiting with a reason that is not an ExitReason crashes itself, not the supervisor", async () => {
    const h = harness();
    const w = world(h);
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [w.worker("odd")] }), { runtime: h.rt });
    w.take();
    h.rt.cast(["w", "odd"], { exit: { kind: "weird" } });
    await h.settle();
    expect(h.rt.isAlive(sup)).toBe(true);
    expect(w.take()).toEqual(["stop:odd:error", "start:odd"]);
  });

  it("a pid that is already dead when linked counts as an exit (noproc) and is restarted", async () => {
    const h = harness();
    let n = 0;
    const sup = await startSupervisor(
      supervisorSpec({
        strategy: "one_for_one",
        intensity: 5,
        children: [
          {
            id: "ghost",
            start: () => {
              n++;
              const pid = h.rt.spawn(() => undefined);
              if (n === 1) h.rt.exit(pid, Reason.kill);
              return pid;
            },
          },
        ],
      }),
      { runtime: h.rt },
    );
    await h.settle();
    expect(n).toBe(2);
    const [info] = await whichChildren(sup);
    expect(h.rt.isAlive(info?.pid as Pid)).toBe(true);
  });
});

describe("introspection of a supervision tree", () => {
  it("the snapshot lists children in start order with restart counts", async () => {
    const { h, w, sup } = await setup("one_for_one", ["a", "b"], { intensity: 5 });
    w.crash("b", crashReason);
    await h.settle();
    const [root] = h.rt.snapshot();
    expect(root?.pid).toBe(sup.toString());
    expect(root?.behaviour).toBe("supervisor");
    expect(root?.children.map((c) => [c.name, c.restarts])).toEqual([
      ["w/a", 0],
      ["w/b", 1],
    ]);
  });
});
