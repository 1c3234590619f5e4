/**
 * End to end through net_proxy: a leecher dials the proxy in front of a seed instead of the
 * seed itself (real nodes, real clock), with latency, a bandwidth cap and resets at seeded
 * times. The resets are recorded, the leecher's controller redials, and the download
 * completes with the right bytes.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SwarmNode } from "../../src/node.js";
import { log } from "../../src/log.js";
import { netProxy, startNetProxy } from "../../actors/chaos/netProxy.js";
import { faultTimes } from "../../actors/chaos/schedule.js";
import type { ChaosEvent, NetFaults } from "../../src/swarm/chaosSpec.js";
import { KiB, MiB, nodesStoppedAfterEach, sha256File, singleFileTorrent, startSeedNode, suiteDir } from "../helpers/swarm.js";

log.level = "silent";

const SEED_HOST = "127.0.0.81";
const LEECH_HOST = "127.0.0.82";

describe("a download through net_proxy", () => {
  const root = suiteDir("chaos-proxy", async () => undefined);
  const nodes = nodesStoppedAfterEach();

  it("completes with the right bytes under latency, a cap and resets (the controller redials)", async () => {
    const t = await singleFileTorrent(root(), "payload.bin", 8 * MiB, 64 * KiB);
    const ih = t.meta.infoHashHex;
    const seed = await startSeedNode(SEED_HOST, [t]);
    nodes.push(seed);
    const net: NetFaults = { latencyMs: 5, bandwidthBytesPerSec: 4_000_000, resetPerSecond: 1, stallPerSecond: 0, stallMs: 500 };
    // At 4 MB/s the 8 MiB take over 2 s: pick a seed whose first reset falls once the link is up, well before the end.
    const proxySeed = [...Array(100).keys()].find((s) => {
      const first = faultTimes(s, "net/reset", 1, 60_000)[0];
      return first !== undefined && first > 300 && first < 1000;
    });
    if (proxySeed === undefined) throw new Error("no suitable seed");
    const leech = await SwarmNode.start({ host: LEECH_HOST, label: "leech" });
    nodes.push(leech);
    const events: ChaosEvent[] = [];
    const proxy = await startNetProxy(seed.runtime, {
      node: "seed",
      listenHost: SEED_HOST,
      listenPort: 0,
      targetHost: SEED_HOST,
      targetPort: seed.port,
      net,
      seed: proxySeed,
      record: (e) => events.push(e),
    });
    const out = join(root(), "out");
    await leech.addTorrent({ meta: t.meta, location: { kind: "downloadDir", dir: out }, peers: [{ host: SEED_HOST, port: proxy.port }] });
    const done = await leech.await(ih, "complete", 60_000);
    expect(done.have).toBe(t.meta.pieceCount);
    expect(await sha256File(join(out, t.meta.name))).toBe(await sha256File(t.path));

    const stats = await netProxy.stats(seed.runtime, proxy.pid);
    const resets = events.filter((e) => e.kind === "netReset");
    expect(resets.length).toBeGreaterThanOrEqual(1);
    expect(resets.length).toBe(stats.resets);
    // Every link came from the leecher's own address (the seed saw the real host).
    for (const e of resets) expect(e.kind === "netReset" && e.link.startsWith(`${LEECH_HOST}:`)).toBe(true);
    expect(stats.accepted).toBeGreaterThanOrEqual(resets.length + 1);
    expect(stats.peakHeld).toBeLessThanOrEqual(stats.maxHeldBytes);
    await seed.runtime.stop(proxy.pid);
  });
});
