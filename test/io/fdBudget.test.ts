import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FdBudget, Lease } from "../../actors/io/fdBudget.js";

function lease(log: string[] = [], name = "l"): Lease {
  return new Lease(() => log.push(`yield:${name}`));
}

describe("FdBudget", () => {
  it("grants up to the limit at once, then queues FIFO and grants as slots return", async () => {
    const budget = new FdBudget(2);
    const [a, b, c, d] = [lease(), lease(), lease(), lease()] as const;
    await budget.acquire(a);
    await budget.acquire(b);
    const order: string[] = [];
    void budget.acquire(c).then(() => order.push("c"));
    void budget.acquire(d).then(() => order.push("d"));
    expect([budget.inUse, budget.waiters]).toEqual([2, 2]);
    budget.release(b);
    expect(c.state).toBe("held");
    expect(d.state).toBe("waiting");
    budget.release(a);
    await Promise.resolve();
    expect(order).toEqual(["c", "d"]);
    expect(budget.highWater).toBe(2);
  });

  it("asks the least recently idle holder to yield, one per waiter; busy holders are not asked", async () => {
    const log: string[] = [];
    const budget = new FdBudget(3);
    const [a, b, c] = [lease(log, "a"), lease(log, "b"), lease(log, "c")];
    for (const l of [a, b, c]) await budget.acquire(l);
    expect(budget.markIdle(b)).toBe("keep");
    expect(budget.markIdle(a)).toBe("keep");
    // c stays busy
    void budget.acquire(lease());
    expect(log).toEqual(["yield:b"]);
    void budget.acquire(lease());
    expect(log).toEqual(["yield:b", "yield:a"]);
    void budget.acquire(lease());
    expect(log).toHaveLength(2); // c is busy: it will be asked when it goes idle
    expect(budget.markIdle(c)).toBe("yield");
    expect(c.yieldRequested).toBe(true);
  });

  it("an idle holder that turned busy again keeps its yield request until it is idle", async () => {
    const budget = new FdBudget(1);
    const a = lease();
    await budget.acquire(a);
    budget.markIdle(a);
    void budget.acquire(lease());
    expect(a.yieldRequested).toBe(true);
    budget.markBusy(a);
    expect(budget.markIdle(a)).toBe("yield");
    budget.release(a);
    expect(a.yieldRequested).toBe(false);
    expect(budget.waiters).toBe(0);
  });

  it("a cancelled waiter is never granted; releasing twice is a no-op", async () => {
    const budget = new FdBudget(1);
    const a = lease();
    const b = lease();
    await budget.acquire(a);
    let granted = false;
    void budget.acquire(b).then(() => (granted = true));
    budget.cancel(b);
    budget.release(a);
    budget.release(a);
    await Promise.resolve();
    expect(granted).toBe(false);
    expect(budget.inUse).toBe(0);
  });

  it("refuses a nonsensical limit and a double acquire", async () => {
    expect(() => new FdBudget(0)).toThrow(RangeError);
    const budget = new FdBudget(1);
    const a = lease();
    await budget.acquire(a);
    await expect(budget.acquire(a)).rejects.toThrow(/already held/);
  });

  it("property: never more than the limit held, and every waiter is served once holders go idle", () => {
    type Action = { kind: "request" | "idle" | "busy" | "close" | "die"; who: number };
    const action = fc.record({ kind: fc.constantFrom("request", "idle", "busy", "close", "die"), who: fc.nat(11) }) as fc.Arbitrary<Action>;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(action, { maxLength: 200 }), (limit, actions) => {
        const budget = new FdBudget(limit);
        const closing = new Set<number>();
        const busy = new Set<number>();
        const leases = Array.from({ length: 12 }, (_, i) => new Lease(() => closing.add(i)));
        const held = (): number => leases.filter((l) => l.state === "held").length;
        const goIdle = (i: number, l: Lease): void => {
          busy.delete(i);
          if (budget.markIdle(l) === "yield") closing.add(i);
        };
        const step = ({ kind, who }: Action): void => {
          const l = leases[who] as Lease;
          switch (kind) {
            case "request":
              if (l.state === "free" && !closing.has(who)) {
                void budget.acquire(l);
                busy.add(who); // opening, then working
              }
              break;
            case "idle":
              if (l.state === "held" && busy.has(who) && !closing.has(who)) goIdle(who, l);
              break;
            case "busy":
              if (l.state === "held" && !busy.has(who) && !closing.has(who) && !l.yieldRequested) {
                budget.markBusy(l);
                busy.add(who);
              }
              break;
            case "close":
              if (closing.delete(who)) budget.release(l);
              break;
            case "die":
              budget.cancel(l);
              budget.markBusy(l);
              busy.delete(who);
              if (l.state === "held") closing.add(who);
              break;
          }
          expect(budget.inUse).toBe(held());
          expect(budget.inUse).toBeLessThanOrEqual(limit);
        };
        actions.forEach(step);
        // Liveness: let every holder finish its work and every asked one close.
        for (let round = 0; round < 100 && budget.waiters > 0; round++) {
          leases.forEach((l, i) => {
            if (l.state === "held" && busy.has(i) && !closing.has(i)) goIdle(i, l);
          });
          for (const i of [...closing]) step({ kind: "close", who: i });
        }
        expect(budget.waiters).toBe(0);
        expect(budget.highWater).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });
});
