import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { INITIAL_FLAGS, type LinkFlags } from "../../actors/peer/machine.js";
import {
  DEFAULT_PIPELINE,
  desiredDepth,
  lowWater,
  pipelineConfig,
  requestBudget,
  type PipelineInput,
} from "../../actors/peer/pipeline.js";
import { RateMeter } from "../../actors/peer/rateMeter.js";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("desiredDepth", () => {
  it("is rate x 3 s / 16 KiB between the bounds", () => {
    expect(desiredDepth(1 * MiB)).toBe(192);
    expect(desiredDepth(100 * KiB)).toBe(18);
  });

  it("clamps to [2, 256] by default", () => {
    expect(desiredDepth(0)).toBe(2);
    expect(desiredDepth(1)).toBe(2);
    expect(desiredDepth(-5)).toBe(2);
    expect(desiredDepth(Number.NaN)).toBe(2);
    expect(desiredDepth(10 * MiB)).toBe(256);
    expect(desiredDepth(Number.POSITIVE_INFINITY)).toBe(256);
  });

  it("never asks more of a peer than its reqq, even below minDepth", () => {
    expect(desiredDepth(10 * MiB, DEFAULT_PIPELINE, 100)).toBe(100);
    expect(desiredDepth(10 * MiB, DEFAULT_PIPELINE, 1000)).toBe(256);
    expect(desiredDepth(0, DEFAULT_PIPELINE, 1)).toBe(1);
  });

  it("grows with the rate and stays within its bounds (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e9, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const dLo = desiredDepth(lo);
        const dHi = desiredDepth(hi);
        return dLo <= dHi && dLo >= DEFAULT_PIPELINE.minDepth && dHi <= DEFAULT_PIPELINE.maxDepth;
      }),
    );
  });

  /** A link of `capacity` bytes/s and `rttMs`: a depth of d moves min(capacity, d blocks per RTT). */
  function settle(capacity: number, rttMs: number, seconds: number): number[] {
    const meter = new RateMeter(0);
    let depth = desiredDepth(0);
    const depths: number[] = [];
    for (let now = 100; now <= seconds * 1000; now += 100) {
      const throughput = Math.min(capacity, (depth * 16 * KiB * 1000) / rttMs);
      meter.add(throughput / 10, now);
      depth = desiredDepth(meter.rate(now));
      depths.push(depth);
    }
    return depths;
  }

  it("from the floor, reaches the 256 ceiling on a fast link within a few seconds", () => {
    const depths = settle(200 * MiB, 1, 5);
    expect(depths[0]).toBeGreaterThan(2);
    expect(depths.indexOf(256)).toBeGreaterThan(-1);
    expect(depths.indexOf(256)).toBeLessThan(30); // 3 s of 100 ms steps
    expect(depths.at(-1)).toBe(256);
  });

  it("settles at rate x queue time on a slow link instead of the ceiling", () => {
    const depths = settle(512 * KiB, 100, 10);
    // 512 KiB/s x 3 s / 16 KiB = 96; bucket edges make the measured rate ~1% off either way.
    expect(Math.abs((depths.at(-1) ?? 0) - 96)).toBeLessThanOrEqual(1);
    expect(Math.max(...depths)).toBeLessThan(100);
  });
});

describe("lowWater", () => {
  it("is half the desired depth, rounded down", () => {
    expect([1, 2, 3, 192, 256].map(lowWater)).toEqual([0, 1, 1, 96, 128]);
  });
});

describe("requestBudget", () => {
  function input(flags: Partial<LinkFlags>, outstanding: number, extra: Partial<PipelineInput> = {}): PipelineInput {
    return {
      flags: { ...INITIAL_FLAGS, ...flags },
      outstanding,
      rate: 1 * MiB,
      peerQueueLimit: undefined,
      allowedFastWanted: 0,
      ...extra,
    };
  }
  const open = { amInterested: true, peerChoking: false };

  it("waits while we want nothing", () => {
    expect(requestBudget(input({ peerChoking: false }, 0))).toEqual({ kind: "wait", why: "notInterested", outstanding: 0, desired: 192 });
  });

  it("waits while choked, unless the peer allowed some pieces fast", () => {
    expect(requestBudget(input({ amInterested: true }, 0))).toMatchObject({ kind: "wait", why: "choked" });
    expect(requestBudget(input({ amInterested: true }, 0, { allowedFastWanted: 3 }))).toEqual({
      kind: "request",
      count: 192,
      desired: 192,
      scope: "allowedFast",
    });
  });

  it("fills an empty pipeline to the desired depth", () => {
    expect(requestBudget(input(open, 0))).toEqual({ kind: "request", count: 192, desired: 192, scope: "any" });
  });

  it("refills at low water (half the depth) and not above it", () => {
    expect(requestBudget(input(open, 96))).toEqual({ kind: "request", count: 96, desired: 192, scope: "any" });
    expect(requestBudget(input(open, 97))).toEqual({ kind: "wait", why: "aboveLowWater", outstanding: 97, desired: 192 });
    expect(requestBudget(input(open, 300))).toMatchObject({ kind: "wait", why: "aboveLowWater" });
  });

  it("a snubbed peer gets one request at a time", () => {
    expect(requestBudget(input({ ...open, snubbed: true }, 0))).toEqual({ kind: "request", count: 1, desired: 1, scope: "any" });
    expect(requestBudget(input({ ...open, snubbed: true }, 1))).toMatchObject({ kind: "wait", why: "aboveLowWater", desired: 1 });
  });

  it("respects the peer's reqq and the configured bounds", () => {
    expect(requestBudget(input(open, 0, { rate: 100 * MiB, peerQueueLimit: 50 }))).toMatchObject({ count: 50, desired: 50 });
    const lan = pipelineConfig({ minDepth: 16, maxDepth: 64 });
    expect(requestBudget(input(open, 0, { rate: 0 }), lan)).toMatchObject({ count: 16 });
    expect(requestBudget(input(open, 0, { rate: 100 * MiB }), lan)).toMatchObject({ count: 64 });
  });
});

describe("pipelineConfig", () => {
  it("fills defaults and refuses configs that cannot work", () => {
    expect(pipelineConfig()).toEqual(DEFAULT_PIPELINE);
    expect(pipelineConfig({ maxDepth: 64 }).maxDepth).toBe(64);
    expect(() => pipelineConfig({ minDepth: 10, maxDepth: 5 })).toThrow(/minDepth <= maxDepth/);
    expect(() => pipelineConfig({ minDepth: 0 })).toThrow(RangeError);
    expect(() => pipelineConfig({ queueTimeMs: 0 })).toThrow(/queueTimeMs/);
    expect(() => pipelineConfig({ blockSize: 1.5 })).toThrow(/blockSize/);
  });
});
