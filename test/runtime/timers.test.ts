import { describe, expect, it } from "vitest";
import { ManualClock, Reason, TimerMsg, type Pid, type TimerRef } from "../../src/runtime/index.js";
import { harness } from "./harness.js";

describe("ManualClock", () => {
  it("fires due timers in (time, creation) order with now() at each due time", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
    const cancelled = clock.setTimer(20, () => fired.push("never"));
    clock.clearTimer(cancelled);
    expect(clock.advance(25)).toBe(2);
    expect(fired).toEqual(["a@10", "b@10"]);
    expect(clock.now()).toBe(25);
    clock.advance(5);
    expect(fired).toEqual(["a@10", "b@10", "c@30"]);
    expect(clock.pending).toBe(0);
  });

  it("fires timers created while advancing if they fall due in the window", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimer(5, () => clock.setTimer(5, () => fired.push(clock.now())));
    clock.advance(10);
    expect(fired).toEqual([10]);
  });

  it("keeps bounded memory when many timers are set and cancelled", () => {
    const clock = new ManualClock();
    for (let i = 0; i < 10_000; i++) clock.clearTimer(clock.setTimer(5000, () => undefined));
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBeUndefined();
  });
});

describe("actor timers", () => {
  it("sendAfter delivers the bare message after ms; startTimer delivers TimerMsg with its ref", async () => {
    const { rt, advance } = harness();
    const seen: unknown[] = [];
    let tref: TimerRef | undefined;
    const pid = rt.spawn((msg, ctx) => {
      if (msg === "arm") {
        ctx.sendAfter(100, "plain");
        tref = ctx.startTimer(200, "tagged");
      } else seen.push(msg);
    });
    rt.send(pid, "arm");
    await advance(99);
    expect(seen).toEqual([]);
    await advance(1);
    expect(seen).toEqual(["plain"]);
    await advance(100);
    expect(seen[1]).toEqual(new TimerMsg(tref as TimerRef, "tagged"));
    expect((seen[1] as TimerMsg).ref).toBe(tref);
  });

  it("cancelTimer returns the time left, then false; a cancelled timer never fires", async () => {
    const { rt, advance } = harness();
    const seen: unknown[] = [];
    const pid = rt.spawn((msg) => void seen.push(msg));
    const ref = rt.sendAfter(pid, 1000, "late");
    await advance(300);
    expect(rt.cancelTimer(ref)).toBe(700);
    expect(rt.cancelTimer(ref)).toBe(false);
    await advance(1000);
    expect(seen).toEqual([]);
  });

  it("timers die with their actor", async () => {
    const { rt, clock, advance } = harness();
    const pid = rt.spawn((_msg, ctx) => {
      ctx.sendAfter(1000, "a");
      ctx.startTimer(2000, "b");
      ctx.sendInterval(50, "tick");
    });
    rt.send(pid, "arm");
    await advance(0);
    expect(rt.info(pid)?.timers).toBe(3);
    expect(clock.pending).toBe(3);
    rt.exit(pid, Reason.kill);
    expect(clock.pending).toBe(0);
  });

  it("a timer aimed at a dead pid is inactive", () => {
    const { rt } = harness();
    const pid = rt.spawn(() => undefined);
    rt.exit(pid, Reason.kill);
    const ref = rt.sendAfter(pid, 10, "x");
    expect(ref.active).toBe(false);
    expect(rt.cancelTimer(ref)).toBe(false);
  });

  it("sendInterval repeats until cancelled", async () => {
    const { rt, advance } = harness();
    let ticks = 0;
    let ref: TimerRef | undefined;
    const pid: Pid = rt.spawn((msg, ctx) => {
      if (msg === "arm") ref = ctx.sendInterval(10, "tick");
      else if (++ticks === 3) ctx.cancelTimer(ref as TimerRef);
    });
    rt.send(pid, "arm");
    await advance(100);
    expect(ticks).toBe(3);
  });
});
