import { describe, expect, it } from "vitest";
import { DATACENTER_LIVENESS, DEFAULT_LIVENESS, LinkClock, livenessConfig } from "../../actors/peer/liveness.js";

const calm = { snubbed: false };
const T0 = 1_000_000;

describe("LinkClock: inactivity", () => {
  it("closes at exactly 300 s of silence, and says nothing else then", () => {
    const c = new LinkClock(T0);
    expect(c.check(T0 + 299_999, calm).map((a) => a.kind)).not.toContain("close");
    expect(c.check(T0 + 300_000, calm)).toEqual([{ kind: "close", reason: "inactive", silentMs: 300_000 }]);
  });

  it("any message received restarts the count", () => {
    const c = new LinkClock(T0);
    c.received(T0 + 200_000);
    expect(c.check(T0 + 300_000, calm).map((a) => a.kind)).not.toContain("close");
    expect(c.check(T0 + 500_000, calm)).toMatchObject([{ kind: "close", silentMs: 300_000 }]);
  });
});

describe("LinkClock: keep-alive", () => {
  it("is due at 60 s with nothing sent, not before", () => {
    const c = new LinkClock(T0);
    c.received(T0 + 59_999);
    expect(c.check(T0 + 59_999, calm)).toEqual([]);
    expect(c.check(T0 + 60_000, calm)).toEqual([{ kind: "keepAlive", idleMs: 60_000 }]);
  });

  it("anything sent postpones it", () => {
    const c = new LinkClock(T0);
    c.sent(T0 + 30_000);
    c.received(T0 + 60_000);
    expect(c.check(T0 + 60_000, calm)).toEqual([]);
    expect(c.check(T0 + 90_000, calm)).toEqual([{ kind: "keepAlive", idleMs: 60_000 }]);
  });
});

describe("LinkClock: snub", () => {
  /** Keep-alives pushed out of the way, so only the snub rule speaks. */
  function chatty(): LinkClock {
    return new LinkClock(T0, livenessConfig({ keepAliveMs: 1_000_000 }));
  }

  it("snubs at 60 s of waiting with requests out and no block", () => {
    const c = chatty();
    c.requestsNow(5, "requested", T0);
    c.received(T0 + 59_999);
    expect(c.check(T0 + 59_999, calm)).toEqual([]);
    expect(c.check(T0 + 60_000, calm)).toEqual([{ kind: "snub", event: { type: "SNUBBED" }, waitedMs: 60_000, outstanding: 5 }]);
  });

  it("does not snub a link already snubbed, nor one with nothing requested", () => {
    const c = chatty();
    c.requestsNow(5, "requested", T0);
    expect(c.check(T0 + 60_000, { snubbed: true })).toEqual([]);
    c.requestsNow(0, "dropped", T0 + 1);
    expect(c.check(T0 + 60_000, calm)).toEqual([]);
    expect(c.waitingSince).toBeUndefined();
  });

  it("a block restarts the wait; more requests while waiting do not", () => {
    const c = chatty();
    c.requestsNow(5, "requested", T0);
    c.requestsNow(10, "requested", T0 + 10_000);
    expect(c.waitingSince).toBe(T0);
    c.requestsNow(9, "block", T0 + 30_000);
    expect(c.check(T0 + 89_999, calm)).toEqual([]);
    expect(c.check(T0 + 90_000, calm)).toMatchObject([{ kind: "snub", outstanding: 9 }]);
  });

  it("the wait starts with the first request after an idle spell, not at the last block", () => {
    const c = chatty();
    c.requestsNow(1, "requested", T0);
    c.requestsNow(0, "block", T0 + 1000);
    c.requestsNow(3, "requested", T0 + 500_000);
    expect(c.waitingSince).toBe(T0 + 500_000);
  });

  it("the datacenter profile snubs after 5 s", () => {
    const c = new LinkClock(T0, DATACENTER_LIVENESS);
    c.requestsNow(1, "requested", T0);
    expect(c.check(T0 + 4_999, calm)).toEqual([]);
    expect(c.check(T0 + 5_000, calm)).toMatchObject([{ kind: "snub", waitedMs: 5_000 }]);
  });

  it("snub and keep-alive can be due together", () => {
    const c = new LinkClock(T0);
    c.requestsNow(2, "requested", T0);
    expect(c.check(T0 + 60_000, calm).map((a) => a.kind)).toEqual(["snub", "keepAlive"]);
  });
});

describe("LinkClock: nextCheckAt", () => {
  it("is the earliest deadline that can still fire", () => {
    const c = new LinkClock(T0);
    expect(c.nextCheckAt(calm)).toBe(T0 + 60_000); // keep-alive
    c.sent(T0 + 50_000);
    c.requestsNow(1, "requested", T0 + 40_000);
    expect(c.nextCheckAt(calm)).toBe(T0 + 100_000); // snub at 40 + 60 before keep-alive at 110
    expect(c.nextCheckAt({ snubbed: true })).toBe(T0 + 110_000);
    const quiet = new LinkClock(T0, livenessConfig({ keepAliveMs: 1_000_000 }));
    expect(quiet.nextCheckAt(calm)).toBe(T0 + 300_000); // inactivity
  });

  it("checking at nextCheckAt always finds something due", () => {
    const c = new LinkClock(T0);
    c.requestsNow(3, "requested", T0 + 7);
    c.sent(T0 + 20_000);
    const at = c.nextCheckAt(calm);
    expect(c.check(at, calm).length).toBeGreaterThan(0);
    expect(c.check(at - 1, calm)).toEqual([]);
  });
});

describe("livenessConfig", () => {
  it("fills defaults and refuses non-positive times", () => {
    expect(livenessConfig()).toEqual(DEFAULT_LIVENESS);
    expect(livenessConfig({ snubTimeoutMs: 2000 }).snubTimeoutMs).toBe(2000);
    expect(() => livenessConfig({ keepAliveMs: 0 })).toThrow(/keepAliveMs/);
    expect(() => livenessConfig({ inactivityMs: 1.5 })).toThrow(/inactivityMs/);
  });
});
