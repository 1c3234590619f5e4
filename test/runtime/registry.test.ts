import { describe, expect, it } from "vitest";
import { BadArgError, NameTakenError, Reason, StartError, defineServer, ok, startServer, type Pid } from "../../src/runtime/index.js";
import { harness } from "./harness.js";

const idle = (): undefined => undefined;

describe("registry: unique names", () => {
  it("resolves structured keys by value", () => {
    const { rt } = harness();
    const pid = rt.spawn(idle, { name: ["torrent", "abcd"] });
    expect(rt.whereis(["torrent", "abcd"])).toBe(pid);
    expect(rt.whereis(["torrent", "abce"])).toBeUndefined();
    expect(rt.whereis("torrent")).toBeUndefined();
    rt.send(["torrent", "abcd"], "hello"); // does not throw
  });

  it("refuses a taken name with a typed error naming the holder", () => {
    const { rt } = harness();
    const holder = rt.spawn(idle, { name: ["peer", "ih", "1.2.3.4:6881"] });
    let error: unknown;
    try {
      rt.spawn(idle, { name: ["peer", "ih", "1.2.3.4:6881"] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NameTakenError);
    expect((error as NameTakenError).holder).toBe(holder);
    expect(rt.processCount).toBe(1); // nothing was spawned
  });

  it("starting a server under a taken name rejects {already_started, pid}", async () => {
    const { rt } = harness();
    const server = defineServer<null>({ name: "s", init: () => ok(null) });
    const first = (await startServer(server, undefined, { runtime: rt, name: "unique" })) as Pid;
    const error = await startServer(server, undefined, { runtime: rt, name: "unique" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).reason).toEqual({ kind: "already_started", pid: first });
  });

  it("unregisters on exit, whatever the reason", () => {
    const { rt } = harness();
    const pid = rt.spawn(idle, { name: "choker" });
    rt.exit(pid, Reason.kill);
    expect(rt.whereis("choker")).toBeUndefined();
    const again = rt.spawn(idle, { name: "choker" });
    expect(rt.whereis("choker")).toBe(again);
  });

  it("rejects malformed names", () => {
    const { rt } = harness();
    expect(() => rt.spawn(idle, { name: [] })).toThrow(BadArgError);
    expect(() => rt.spawn(idle, { name: ["x", Number.NaN] })).toThrow(BadArgError);
    expect(() => rt.spawn(idle, { name: "" })).toThrow(BadArgError);
  });

  it("register/unregister from inside and outside", async () => {
    const { rt, settle } = harness();
    const pid = rt.spawn((msg, ctx) => {
      if (msg === "reg") ctx.register(["dht", 1]);
      if (msg === "unreg") ctx.unregister(["dht", 1]);
    });
    rt.send(pid, "reg");
    await settle();
    expect(rt.whereis(["dht", 1])).toBe(pid);
    rt.send(pid, "unreg");
    await settle();
    expect(rt.whereis(["dht", 1])).toBeUndefined();
    rt.register("outside", pid);
    expect(rt.unregister("outside")).toBe(true);
    expect(rt.unregister("outside")).toBe(false);
  });
});

describe("registry: groups", () => {
  it("match lists every pid under a key prefix, and forgets the dead", () => {
    const { rt } = harness();
    const a = rt.spawn(idle, { name: ["peer", "ih1", "10.0.0.1:1"] });
    const b = rt.spawn(idle, { name: ["peer", "ih1", "10.0.0.2:1"] });
    const other = rt.spawn(idle, { name: ["peer", "ih2", "10.0.0.3:1"] });
    expect(new Set(rt.match(["peer", "ih1", "*"]))).toEqual(new Set([a, b]));
    expect(new Set(rt.match(["peer", "*"]))).toEqual(new Set([a, b, other]));
    expect(rt.match(["peer", "ih1", "10.0.0.1:1"])).toEqual([a]);
    rt.exit(a, Reason.kill);
    expect(rt.match(["peer", "ih1", "*"])).toEqual([b]);
  });

  it("explicit groups hold many pids and drop them on exit", async () => {
    const { rt, settle } = harness();
    const pids = [0, 1, 2].map(() => rt.spawn((_m, ctx) => ctx.join(["seeders", "ih"])));
    for (const pid of pids) rt.send(pid, "join");
    await settle();
    expect(new Set(rt.members(["seeders", "ih"]))).toEqual(new Set(pids));
    rt.leave(["seeders", "ih"], pids[0] as Pid);
    rt.exit(pids[1] as Pid, Reason.shutdown());
    expect(rt.members(["seeders", "ih"])).toEqual([pids[2]]);
  });
});
