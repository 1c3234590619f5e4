import { describe, expect, it } from "vitest";
import {
  BadReturnError,
  defineServer,
  DownMsg,
  ExitMsg,
  IDLE_TIMEOUT,
  ignore,
  noreply,
  ok,
  Reason,
  reply,
  startServer,
  StartError,
  stop,
  stopReply,
  type ExitReason,
  type Pid,
  type ServerBehaviour,
} from "../../src/runtime/index.js";
import { deferred, harness } from "./harness.js";

interface Counter {
  n: number;
}

/** A counter whose terminate records why it ran. */
function counter(terminated: ExitReason[], extra: Partial<ServerBehaviour<Counter, number>> = {}): ServerBehaviour<Counter, number> {
  return defineServer<Counter, number>({
    name: "counter",
    init: (start) => ok({ n: start }),
    handleCall: (req, _from, state) => {
      if (req === "get") return reply(state.n, state);
      if (req === "stop") return stopReply(Reason.normal, "bye", state);
      return reply(undefined, state);
    },
    handleCast: (msg, state) => {
      if (msg === "inc") return noreply({ n: state.n + 1 });
      if (msg === "crash") throw new Error("cast crash");
      if (msg === "stop") return stop(Reason.shutdown("asked"), state);
      if (msg === "garbage") return { kind: "nonsense" } as never;
      return noreply(state);
    },
    terminate: (reason) => void terminated.push(reason),
    ...extra,
  });
}

describe("start: init and its ack", () => {
  it("resolves with the pid after init acked; state is what init returned", async () => {
    const { rt } = harness();
    const pid = (await startServer(counter([]), 41, { runtime: rt })) as Pid;
    rt.cast(pid, "inc");
    expect(await rt.call(pid, "get")).toBe(42);
    expect(await rt.getState(pid)).toEqual({ n: 42 });
  });

  it("an async init is awaited before the start resolves", async () => {
    const { rt } = harness();
    const gate = deferred();
    let resolved = false;
    const started = startServer(defineServer<null>({ name: "slow", init: async () => (await gate.promise, ok(null)) }), undefined, { runtime: rt }).then((p) => {
      resolved = true;
      return p;
    });
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    gate.resolve();
    expect(await started).toBeDefined();
  });

  it("init returning stop(reason) rejects the start with that reason; the process exits", async () => {
    const { rt } = harness();
    const error = await startServer(defineServer<null>({ name: "no", init: () => stop(Reason.error("no config")) }), undefined, { runtime: rt }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).reason).toEqual(Reason.error("no config"));
    expect(rt.processCount).toBe(0);
  });

  it("init returning ignore resolves 'ignore' and the process exits normal", async () => {
    const { rt } = harness();
    expect(await startServer(defineServer<null>({ name: "ign", init: () => ignore() }), undefined, { runtime: rt })).toBe("ignore");
    expect(rt.processCount).toBe(0);
  });

  it("init that throws or returns garbage rejects; terminate does not run", async () => {
    const { rt } = harness();
    const terminated: ExitReason[] = [];
    const thrower = counter(terminated, {
      init: () => {
        throw new Error("init failed");
      },
    });
    const e1 = (await startServer(thrower, 0, { runtime: rt }).catch((e: unknown) => e)) as StartError;
    expect(e1.reason.kind).toBe("error");
    const garbage = counter(terminated, { init: () => 42 as never });
    const e2 = (await startServer(garbage, 0, { runtime: rt }).catch((e: unknown) => e)) as StartError;
    expect((e2.reason as { error: unknown }).error).toBeInstanceOf(BadReturnError);
    expect(terminated).toEqual([]);
  });

  it("a start timeout (on the runtime clock) kills the process and rejects {timeout}", async () => {
    const { rt, advance } = harness();
    const never = defineServer<null>({ name: "hang", init: () => new Promise(() => undefined) });
    const outcome = startServer(never, undefined, { runtime: rt, timeout: 1000 }).catch((e: unknown) => e);
    await advance(1000);
    const error = (await outcome) as StartError;
    expect(error.reason).toEqual({ kind: "timeout", afterMs: 1000 });
    expect(rt.processCount).toBe(0);
  });

  it("a failed init does not send an EXIT to the linked starter (OTP 26 semantics)", async () => {
    const { rt, settle } = harness();
    const seen: unknown[] = [];
    const failing = defineServer<null>({ name: "f", init: () => stop(Reason.error("nope")) });
    const parent = rt.spawn(async (msg, ctx) => {
      if (msg === "start") {
        ctx.trapExit(true);
        await startServer(failing, undefined).catch(() => undefined);
      } else seen.push(msg);
    });
    rt.send(parent, "start");
    await settle();
    expect(seen).toEqual([]);
    expect(rt.isAlive(parent)).toBe(true);
  });
});

describe("handlers and results", () => {
  it("stop from handleCast runs terminate with the reason and exits", async () => {
    const { rt } = harness();
    const terminated: ExitReason[] = [];
    const pid = (await startServer(counter(terminated), 0, { runtime: rt })) as Pid;
    const exited = rt.awaitExit(pid);
    rt.cast(pid, "stop");
    expect(await exited).toEqual(Reason.shutdown("asked"));
    expect(terminated).toEqual([Reason.shutdown("asked")]);
  });

  it("stopReply replies to the caller, then exits", async () => {
    const { rt } = harness();
    const terminated: ExitReason[] = [];
    const pid = (await startServer(counter(terminated), 0, { runtime: rt })) as Pid;
    const exited = rt.awaitExit(pid);
    expect(await rt.call(pid, "stop")).toBe("bye");
    expect(await exited).toEqual(Reason.normal);
    expect(terminated).toEqual([Reason.normal]);
  });

  it("a crash in a callback runs terminate with {error}", async () => {
    const { rt } = harness();
    const terminated: ExitReason[] = [];
    const pid = (await startServer(counter(terminated), 0, { runtime: rt })) as Pid;
    const exited = rt.awaitExit(pid);
    rt.cast(pid, "crash");
    expect((await exited).kind).toBe("error");
    expect(terminated.map((r) => r.kind)).toEqual(["error"]);
  });

  it("an invalid result is a crash with BadReturnError", async () => {
    const { rt } = harness();
    const pid = (await startServer(counter([]), 0, { runtime: rt })) as Pid;
    const exited = rt.awaitExit(pid);
    rt.cast(pid, "garbage");
    const reason = await exited;
    expect((reason as { error: unknown }).error).toBeInstanceOf(BadReturnError);
  });

  it("terminate never runs on kill, nor on an untrapped exit signal", async () => {
    const { rt } = harness();
    const terminated: ExitReason[] = [];
    const a = (await startServer(counter(terminated), 0, { runtime: rt })) as Pid;
    rt.exit(a, Reason.kill);
    const b = (await startServer(counter(terminated), 0, { runtime: rt })) as Pid;
    rt.exit(b, Reason.shutdown());
    expect(terminated).toEqual([]);
  });

  it("the parent's exit signal, when trapping, runs terminate and exits with the parent's reason", async () => {
    const { rt, settle } = harness();
    const terminated: ExitReason[] = [];
    let child: Pid | undefined;
    const parent = rt.spawn(async (msg) => {
      if (msg === "start") child = (await startServer(counter(terminated), 0, { trapExit: true })) as Pid;
    });
    rt.send(parent, "start");
    await settle();
    expect(rt.info(child as Pid)?.parent).toBe(parent);
    const exited = rt.awaitExit(child as Pid);
    rt.exit(parent, Reason.shutdown());
    expect(await exited).toEqual(Reason.shutdown());
    expect(terminated).toEqual([Reason.shutdown()]);
  });

  it("EXIT from a non-parent and DOWN go to handleInfo", async () => {
    const { rt, settle } = harness();
    const infos: unknown[] = [];
    const other = rt.spawn(() => undefined);
    const server = defineServer<null>({
      name: "info",
      init: (_a, ctx) => {
        ctx.link(other);
        ctx.monitor(other);
        return ok(null);
      },
      handleInfo: (msg, state) => {
        infos.push(msg);
        return noreply(state);
      },
    });
    const pid = (await startServer(server, undefined, { runtime: rt, trapExit: true, link: false })) as Pid;
    rt.exit(other, Reason.error("x"));
    rt.send(pid, "raw");
    await settle();
    expect(infos[0]).toBeInstanceOf(ExitMsg);
    expect(infos[1]).toBeInstanceOf(DownMsg);
    expect(infos[2]).toBe("raw");
  });

  it("a {timeout} action delivers IDLE_TIMEOUT only if no message arrives in time", async () => {
    const { rt, advance } = harness();
    const infos: unknown[] = [];
    const server = defineServer<null>({
      name: "idle",
      init: () => ok(null, { timeout: 100 }),
      handleCast: (_m, state) => noreply(state, { timeout: 100 }),
      handleInfo: (msg, state) => {
        infos.push(msg);
        return noreply(state);
      },
    });
    const pid = (await startServer(server, undefined, { runtime: rt })) as Pid;
    await advance(60);
    rt.cast(pid, "poke"); // re-arms
    await advance(60);
    expect(infos).toEqual([]);
    await advance(40);
    expect(infos).toEqual([IDLE_TIMEOUT]);
  });

  it("a {continue} action runs handleContinue before the next message", async () => {
    const { rt, settle } = harness();
    const log: string[] = [];
    const server = defineServer<null>({
      name: "cont",
      init: () => ok(null, { continue: "warmup" }),
      handleContinue: (cont, state) => {
        log.push(`continue ${String(cont)}`);
        return noreply(state);
      },
      handleInfo: (msg, state) => {
        log.push(`info ${String(msg)}`);
        return noreply(state);
      },
    });
    const pid = (await startServer(server, undefined, { runtime: rt })) as Pid;
    rt.send(pid, "first");
    await settle();
    expect(log).toEqual(["continue warmup", "info first"]);
  });

  it("stop(pid) runs terminate and resolves with the exit reason", async () => {
    const { rt } = harness();
    const terminated: ExitReason[] = [];
    const pid = (await startServer(counter(terminated), 0, { runtime: rt, name: "c" })) as Pid;
    expect(await rt.stop("c", Reason.shutdown())).toEqual(Reason.shutdown());
    expect(terminated).toEqual([Reason.shutdown()]);
    expect(rt.isAlive(pid)).toBe(false);
  });

  it("an async terminate is awaited before the exit is signalled", async () => {
    const { rt, settle } = harness();
    const gate = deferred();
    const pid = (await startServer(counter([], { terminate: () => gate.promise }), 0, { runtime: rt })) as Pid;
    let exited = false;
    void rt.awaitExit(pid).then(() => (exited = true));
    rt.cast(pid, "stop");
    await settle();
    expect(exited).toBe(false);
    expect(rt.info(pid)?.status).toBe("exiting");
    gate.resolve();
    await settle();
    expect(exited).toBe(true);
  });
});
