import { describe, expect, it } from "vitest";
import { BadArgError, Reason, type Ctx, type ExitReason, type Pid } from "../../src/runtime/index.js";
import { harness } from "./harness.js";

class FakeSocket {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
  }
}

describe("owned resources", () => {
  const reasons: [string, (rt: ReturnType<typeof harness>["rt"], pid: Pid) => void][] = [
    ["normal exit", (rt, pid) => rt.send(pid, "exit-normal")],
    ["crash", (rt, pid) => rt.send(pid, "crash")],
    ["kill", (rt, pid) => rt.exit(pid, Reason.kill)],
    ["linked shutdown", (rt, pid) => rt.exit(pid, Reason.shutdown())],
  ];
  for (const [label, cause] of reasons) {
    it(`are closed, newest first, on ${label}`, async () => {
      const { rt, settle } = harness();
      const order: string[] = [];
      const socket = new FakeSocket();
      const pid = rt.spawn((msg, ctx: Ctx) => {
        if (msg === "adopt") {
          ctx.adopt(socket);
          ctx.adopt({ close: () => order.push("file") });
          ctx.adopt(() => order.push("cleanup fn"));
        }
        if (msg === "exit-normal") ctx.exitSelf(Reason.normal);
        if (msg === "crash") throw new Error("crash");
      });
      rt.send(pid, "adopt");
      await settle();
      expect(rt.info(pid)?.resources).toBe(3);
      const exited = rt.awaitExit(pid);
      cause(rt, pid);
      await settle();
      await exited;
      expect(order).toEqual(["cleanup fn", "file"]);
      expect(socket.destroyed).toBe(true);
    });
  }

  it("a failing close is reported, never thrown, and the others still close", async () => {
    const { rt, settle, reports } = harness();
    let closed = false;
    const pid = rt.spawn((_msg, ctx) => {
      ctx.adopt({ close: () => (closed = true) });
      ctx.adopt({
        close: () => {
          throw new Error("EBADF");
        },
      });
      ctx.adopt({ close: () => Promise.reject(new Error("async EBADF")) });
    });
    rt.send(pid, "adopt");
    await settle();
    rt.exit(pid, Reason.kill);
    await settle();
    expect(closed).toBe(true);
    expect(reports("resource_close_failed")).toHaveLength(2);
  });

  it("release stops owning a resource", async () => {
    const { rt, settle } = harness();
    const socket = new FakeSocket();
    const pid = rt.spawn((_msg, ctx) => {
      ctx.adopt(socket);
      ctx.release(socket);
    });
    rt.send(pid, "go");
    await settle();
    rt.exit(pid, Reason.kill);
    expect(socket.destroyed).toBe(false);
  });

  it("adopting something that cannot be closed is refused", async () => {
    const { rt, settle } = harness();
    let reason: ExitReason | undefined;
    const pid = rt.spawn((_msg, ctx) => void ctx.adopt({} as never));
    void rt.awaitExit(pid).then((r) => (reason = r));
    rt.send(pid, "go");
    await settle();
    expect(reason?.kind).toBe("error");
    expect((reason as { error: unknown }).error).toBeInstanceOf(BadArgError);
  });
});
