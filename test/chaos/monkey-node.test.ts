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

    // Rates the tree survives (docs/CHAOS.md): io_sup allows 10 restarts in 10 s, torrent_sup 5 a minute.
    const kills: ChaosSpec["kills"] = [
      { kind: "peer", perSecond: 2 },
      { kind: "io", perSecond: 0.5 },
      { kind: "piece_mgr", perSecond: 0.1 },
      { kind: "torrent", perSecond: 0.1 },
    ];
    // A seed whose schedule strikes a file worker, the piece manager and the whole torrent early.
    const early = (seed: number, kind: string, rate: number): boolean => faultTimes(seed, `kill/${kind}`, rate, 1500).length > 0;
    const monkeySeed = [...Array(20_000).keys()].find((s) => early(s, "io", 0.5) && early(s, "piece_mgr", 0.1) && early(s, "torrent", 0.1));
    if (monkeySeed === undefined) throw new Error("no suitable seed");
    const events: ChaosEvent[] = [];
    const monkey = await startChaosMonkey(leech.runtime, { node: "leech", infoHash: ih, kills, seed: monkeySeed, record: (e) => events.push(e) });

    const done = await leech.await(ih, "complete", 20_000);
    expect(done.have).toBe(t.meta.pieceCount);
    const struck = (kind: string): true | undefined => (events.some((e) => e.kind === "kill" && e.actor === kind) ? true : undefined);
    for (const kind of ["io", "piece_mgr", "torrent"]) await until(`a ${kind} kill`, () => struck(kind), 5000);
    const stats = await chaosMonkey.stats(leech.runtime, monkey);
    await leech.runtime.stop(monkey);
    // A killed torrent restarts, checks its files, and finds every piece.
    expect((await leech.await(ih, "complete", 20_000)).have).toBe(t.meta.pieceCount);

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
