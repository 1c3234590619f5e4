import { describe, expect, it } from "vitest";
import { RateMeter } from "../../actors/peer/rateMeter.js";

const BLOCK = 16 * 1024;

/** One block every `everyMs` from `from` to `to` (inclusive). */
function stream(meter: RateMeter, from: number, to: number, everyMs: number): void {
  for (let t = from; t <= to; t += everyMs) meter.add(BLOCK, t);
}

describe("RateMeter", () => {
  it("measures a steady stream within a percent", () => {
    const m = new RateMeter(0);
    stream(m, 10, 20_000, 10); // 100 blocks per second
    expect(m.rate(20_000) / (100 * BLOCK)).toBeCloseTo(1, 1);
    expect(m.total).toBe(2000 * BLOCK);
  });

  it("a young link is measured over its age, not the whole window", () => {
    const m = new RateMeter(1000);
    m.add(1_000_000, 2000);
    expect(m.rate(2000)).toBe(1_000_000); // 1 MB in its first second, not 1 MB / 5 s
  });

  it("a first block right at the start reads as one bucket's worth, not infinity", () => {
    const m = new RateMeter(0, 5000, 20);
    m.add(BLOCK, 0);
    expect(m.rate(0)).toBe((BLOCK * 1000) / 250);
  });

  it("forgets what left the window", () => {
    const m = new RateMeter(0, 5000, 20);
    stream(m, 10, 10_000, 10);
    const full = m.rate(10_000);
    const half = m.rate(12_500); // half the window now holds nothing new
    expect(half / full).toBeGreaterThan(0.45);
    expect(half / full).toBeLessThan(0.56);
    expect(m.rate(10_000 + 5000 + 250)).toBe(0);
    expect(m.total).toBe(1000 * BLOCK);
  });

  it("a bucket reused after a full turn of the ring starts from zero", () => {
    const m = new RateMeter(0, 1000, 4);
    m.add(1000, 100);
    m.add(1, 1100); // same ring slot, one turn later
    // Buckets 1..4 cover 250..1100 ms: 1 byte over 850 ms (the 1000 from a turn ago are gone).
    expect(m.rate(1100)).toBeCloseTo(1000 / 850, 6);
  });

  it("treats a clock that steps back as standing still", () => {
    const m = new RateMeter(0, 1000, 4);
    m.add(500, 900);
    m.add(500, 100); // earlier than seen: counted at 900
    expect(m.rate(900)).toBe((1000 * 1000) / 900);
    expect(m.rate(50)).toBe(m.rate(900));
  });

  it("refuses a window it cannot cut into buckets", () => {
    expect(() => new RateMeter(0, 10, 20)).toThrow(RangeError);
    expect(() => new RateMeter(0, 1000, 0)).toThrow(RangeError);
  });
});
