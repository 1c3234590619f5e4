/**
 * chaos_monkey on a real leecher (its own Runtime, real sockets and files, real clock):
 * peers, file workers, the piece manager and the whole torrent are killed at seeded times
 * while it downloads from a seed; the download completes with the right bytes, and every
 * recorded kill of a permanent actor is followed by its supervisor's restart.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SwarmNode } from "../../src/node.js";
import { log } from "../../src/log.js";
import { chaosMonkey, startChaosMonkey } from "../../actors/chaos.js";
import { faultTimes } from "../../actors/chaos/schedule.js";
import type { ChaosEvent, ChaosSpec } from "../../src/swarm/chaosSpec.js";
import { EventLog, KiB, MiB, nodesStoppedAfterEach, sha256File, singleFileTorrent, startSeedNode, suiteDir, until } from "../helpers/swarm.js";

log.level = "silent";

const SEED_HOST = "127.0.0.61";
const LEECH_HOST = "127.0.0.62";

describe("chaos_monkey on a downloading node", () => {
  const root = suiteDir("chaos-monkey", async () => undefined);
  const nodes = nodesStoppedAfterEach();

  it("kills at the seeded times; the download completes with the right bytes; permanent victims restart", async () => {
    const t = await singleFileTorrent(root(), "payload.bin", 16 * MiB, 64 * KiB);
    const ih = t.meta.infoHashHex;
    const seed = await startSeedNode(SEED_HOST, [t]);
    nodes.push(seed);
    const leech = await SwarmNode.start({ host: LEECH_HOST, label: "leech" });
    nodes.push(leech);
    const runtimeEvents = new EventLog(leech.runtime);
    const out = join(root(), "out");
    await leech.addTorrent({ meta: t.meta, location: { kind: "downloadDir", dir: out }, peers: [{ host: SEED_HOST, port: seed.port }] });

    const kills: ChaosSpec["kills"] = [
      { kind: "peer", perSecond: 4 },
      { kind: "io", perSecond: 4 },
      { kind: "piece_mgr", perSecond: 1 },
      { kind: "torrent", perSecond: 0.5 },
    ];
    const monkeySeed = 2024;
    // The seeded schedule puts a file-worker kill early, whatever the download's speed.
    expect(faultTimes(monkeySeed, "kill/io", 4, 200).length).toBeGreaterThan(0);
    const events: ChaosEvent[] = [];
    const monkey = await startChaosMonkey(leech.runtime, { node: "leech", infoHash: ih, kills, seed: monkeySeed, record: (e) => events.push(e) });

    const done = await leech.await(ih, "complete", 60_000);
    expect(done.have).toBe(t.meta.pieceCount);
    await until("a file worker kill", () => (events.some((e) => e.kind === "kill" && e.actor === "io") ? true : undefined), 5000);
    const stats = await chaosMonkey.stats(leech.runtime, monkey);
    await leech.runtime.stop(monkey);

    expect(await sha256File(join(out, t.meta.name))).toBe(await sha256File(t.path));
    const recorded = events.filter((e): e is Extract<ChaosEvent, { kind: "kill" }> => e.kind === "kill");
    for (const kind of ["peer", "io", "piece_mgr", "torrent"] as const) expect(recorded.filter((e) => e.actor === kind).length).toBe(stats[kind].kills);
    // Kill events name the victim by its child id in the tree (file_io/0, piece_mgr, torrent_sup).
    const restarts = (name: string): number => runtimeEvents.events.filter((e) => e.type === "restarted" && e.childId === name).length;
    for (const name of new Set(recorded.filter((e) => e.actor !== "peer").map((e) => e.name))) {
      const killed = recorded.filter((e) => e.name === name).length;
      await until(`${killed} restarts of ${name}`, () => (restarts(name) >= killed ? true : undefined), 5000);
    }
    runtimeEvents.stop();
  });
});
