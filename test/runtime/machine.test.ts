import { describe, expect, it } from "vitest";
import { assign, setup } from "xstate";
import {
  DownMsg,
  machineSnapshot,
  Reason,
  startMachine,
  startSupervisor,
  supervisorSpec,
  whichChildren,
  type Pid,
} from "../../src/runtime/index.js";
import { harness } from "./harness.js";

const peerLifecycle = setup({
  types: {
    context: {} as { handshakes: number; peer: string },
    input: {} as { peer: string },
    events: {} as { type: "connected" } | { type: "handshake" } | { type: "close" } | { type: "corrupt" } | { type: "runtime.down" },
  },
  actions: {
    explode: () => {
      throw new Error("corrupt state");
    },
  },
}).createMachine({
  id: "peer_lifecycle",
  context: ({ input }) => ({ handshakes: 0, peer: input.peer }),
  initial: "connecting",
  states: {
    connecting: {
      on: { connected: "handshaking" },
      after: { 1000: "closed" }, // connect timeout, on the runtime clock
    },
    handshaking: {
      on: { handshake: { target: "active", actions: assign({ handshakes: ({ context }) => context.handshakes + 1 }) } },
    },
    active: {
      on: { close: "closed", corrupt: { actions: "explode" }, "runtime.down": "closed" },
    },
    closed: { type: "final" },
  },
});

describe("xstate machines as actors", () => {
  it("events are mailbox messages; the snapshot is readable by call", async () => {
    const { rt, settle } = harness();
    const pid = await startMachine(peerLifecycle, { runtime: rt, input: { peer: "1.2.3.4:1" } });
    rt.send(pid, { type: "connected" });
    rt.cast(pid, { type: "handshake" });
    await settle();
    const snapshot = await machineSnapshot<typeof peerLifecycle>(pid);
    expect(snapshot.value).toBe("active");
    expect(snapshot.context).toEqual({ handshakes: 1, peer: "1.2.3.4:1" });
    expect(rt.info(pid)?.behaviour).toBe("peer_lifecycle");
  });

  it("a call with an event sends it and replies with the resulting snapshot", async () => {
    const { rt } = harness();
    const pid = await startMachine(peerLifecycle, { runtime: rt, input: { peer: "p" } });
    const snapshot = (await rt.call(pid, { type: "connected" })) as { value: unknown };
    expect(snapshot.value).toBe("handshaking");
  });

  it("reaching a final state exits normal", async () => {
    const { rt, settle } = harness();
    const pid = await startMachine(peerLifecycle, { runtime: rt, input: { peer: "p" } });
    const exited = rt.awaitExit(pid);
    for (const type of ["connected", "handshake", "close"]) rt.send(pid, { type });
    await settle();
    expect(await exited).toEqual(Reason.normal);
  });

  it("delayed transitions run on the runtime clock, inside the actor", async () => {
    const { rt, advance } = harness();
    const pid = await startMachine(peerLifecycle, { runtime: rt, input: { peer: "p" } });
    const exited = rt.awaitExit(pid);
    await advance(999);
    expect(rt.isAlive(pid)).toBe(true);
    await advance(1);
    expect(await exited).toEqual(Reason.normal);
  });

  it("a machine error becomes the actor's exit reason (seen by monitors and links)", async () => {
    const { rt, settle } = harness();
    const downs: DownMsg[] = [];
    let machinePid: Pid | undefined;
    const watcher = rt.spawn(async (msg, ctx) => {
      if (msg === "start") {
        machinePid = await startMachine(peerLifecycle, { input: { peer: "p" }, link: false });
        ctx.monitor(machinePid);
      } else downs.push(msg as DownMsg);
    });
    rt.send(watcher, "start");
    await settle();
    for (const type of ["connected", "handshake", "corrupt"]) rt.send(machinePid as Pid, { type });
    await settle();
    expect(downs).toHaveLength(1);
    const reason = downs[0]?.reason;
    expect(reason?.kind).toBe("error");
    expect(((reason as { error: Error }).error).message).toBe("corrupt state");
  });

  it("DOWN messages reach the machine as runtime.down events", async () => {
    const { rt, settle } = harness();
    const other = rt.spawn(() => undefined);
    const pid = await startMachine(peerLifecycle, { runtime: rt, input: { peer: "p" } });
    rt.send(pid, { type: "connected" });
    rt.send(pid, { type: "handshake" });
    await settle();
    const exited = rt.awaitExit(pid);
    // monitor `other` from inside the machine actor is not possible from xstate; deliver a DownMsg as a peer manager would
    rt.send(pid, new DownMsg(1 as never, other, Reason.killed));
    expect(await exited).toEqual(Reason.normal);
  });

  it("can be supervised: a crashed machine is restarted", async () => {
    const { rt, settle } = harness();
    const sup = await startSupervisor(
      supervisorSpec({ strategy: "one_for_one", children: [{ id: "lifecycle", start: () => startMachine(peerLifecycle, { input: { peer: "p" } }) }] }),
      { runtime: rt },
    );
    const [before] = await whichChildren(sup);
    for (const type of ["connected", "handshake", "corrupt"]) rt.send(before?.pid as Pid, { type });
    await settle();
    const [after] = await whichChildren(sup);
    expect(after?.pid).not.toBe(before?.pid);
    expect((await machineSnapshot<typeof peerLifecycle>(after?.pid as Pid)).value).toBe("connecting");
  });

  it("the xstate actor stops with ours, even on kill (its timers are gone)", async () => {
    const { rt, clock } = harness();
    const pid = await startMachine(peerLifecycle, { runtime: rt, input: { peer: "p" } });
    expect(clock.pending).toBe(1); // the 1000 ms connect timeout
    rt.exit(pid, Reason.kill);
    expect(clock.pending).toBe(0);
  });
});
