/** Who is who in a swarm run (src/swarm/topology.ts): addresses, and the seeded picks. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_NODES, SEED_HOST, TRACKER_HOST, members, nodeHost, pickNodes, subSeed } from "../../src/swarm/topology.js";

describe("swarm topology", () => {
  it("the seed and the nodes on distinct loopback hosts, none the tracker's", () => {
    const ms = members(600);
    expect(ms[0]).toEqual({ index: 0, label: "seed", role: "seed", host: SEED_HOST });
    expect(ms.slice(1, 3).map((m) => m.host)).toEqual(["127.0.1.1", "127.0.1.2"]);
    expect(nodeHost(254)).toBe("127.0.1.254");
    expect(nodeHost(255)).toBe("127.0.2.1");
    const hosts = ms.map((m) => m.host);
    expect(new Set(hosts).size).toBe(hosts.length);
    expect(hosts).not.toContain(TRACKER_HOST);
    for (const h of hosts) expect(h).toMatch(/^127\.0\.\d{1,3}\.\d{1,3}$/);
    expect(() => nodeHost(0)).toThrow(RangeError);
    expect(() => nodeHost(MAX_NODES + 1)).toThrow(RangeError);
  });

  it("pickNodes: distinct node indices (never the seed), sorted, the same for the same seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 0xffffffff }), (nodes, count, seed) => {
        const picked = pickNodes(nodes, count, seed);
        expect(picked.length).toBe(Math.min(nodes, count));
        expect(new Set(picked).size).toBe(picked.length);
        expect([...picked].sort((a, b) => a - b)).toEqual(picked);
        for (const i of picked) expect(i >= 1 && i <= nodes).toBe(true);
        expect(pickNodes(nodes, count, seed)).toEqual(picked);
      }),
    );
  });

  it("sub-seeds differ by member and by purpose, and repeat for the same inputs", () => {
    const seeds = new Set<number>();
    for (let m = 0; m < 50; m++) for (const p of ["kills", "net", "corrupt"] as const) seeds.add(subSeed(42, m, p));
    expect(seeds.size).toBe(150);
    expect(subSeed(42, 3, "kills")).toBe(subSeed(42, 3, "kills"));
    expect(subSeed(42, 3, "kills")).not.toBe(subSeed(43, 3, "kills"));
  });
});
