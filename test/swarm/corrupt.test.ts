/**
 * A liar in the swarm: a leecher with two seeds, one honest (127.0.0.21) and one whose
 * every uploaded block carries a flipped byte (chaos `corruptUploads`, probability 1, on
 * 127.0.0.66). Pieces with the liar's blocks fail their hash and are fetched again; smart
 * ban names the liar's host once good copies of those pieces show whose blocks differed;
 * its link ends `banned` and it is not dialled again; the file comes out right, every
 * verified byte having come from the honest seed.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { log } from "../../src/log.js";
import { SwarmNode } from "../../src/node.js";
import { EventLog, KiB, MiB, nodesStoppedAfterEach, sha256File, singleFileTorrent, startSeedNode, suiteDir, torrentStateOf } from "../helpers/swarm.js";

log.level = "silent";

const HONEST = "127.0.0.21";
const LIAR = "127.0.0.66";
const LEECH = "127.0.0.22";

describe("a seed that corrupts every block it uploads", () => {
  const root = suiteDir("corrupt", async () => undefined);
  const nodes = nodesStoppedAfterEach();

  it("its pieces fail the hash, are fetched again from the honest seed, its host is banned, the file is right", async () => {
    const t = await singleFileTorrent(root(), "payload.bin", 8 * MiB + 777, 64 * KiB);
    const ih = t.meta.infoHashHex;
    const honest = await startSeedNode(HONEST, [t]);
    nodes.push(honest);
    const liar = await startSeedNode(LIAR, [t], { peerOptions: { corruptUploads: { probability: 1, seed: 66 } } });
    nodes.push(liar);
    const leech = await SwarmNode.start({ host: LEECH, label: "leech-corrupt" });
    nodes.push(leech);
    const events = new EventLog(leech.runtime);
    const out = join(root(), "out");
    const liarKey = `${LIAR}:${liar.port}`;
    await leech.addTorrent({
      meta: t.meta,
      location: { kind: "downloadDir", dir: out },
      peers: [
        { host: LIAR, port: liar.port },
        { host: HONEST, port: honest.port },
      ],
    });

    const done = await leech.await(ih, "complete", 30_000);
    expect(done.counters.hashFails).toBeGreaterThan(0);
    expect(done.counters.downloaded).toBe(t.meta.length);
    expect(await sha256File(join(out, t.meta.name))).toBe(await sha256File(t.path));

    // Banned: the host is in the torrent's ban set (stats and TorrentState), the honest one is not.
    expect(done.banned).toEqual([LIAR]);
    expect(done.strikes[HONEST] ?? 0).toBe(0);
    expect([...(await torrentStateOf(leech, ih)).banned]).toEqual([LIAR]);

    // Its one link ended with why "banned", and no link to it was made after that.
    const peerExits = events.events.flatMap((e) => (e.type === "exited" && e.behaviour === "peer" && e.reason.kind === "shutdown" ? [e.reason.detail] : []));
    const liarExits = peerExits.filter((d) => typeof d === "object" && d !== null && "peer" in d && d.peer === liarKey);
    expect(liarExits).toEqual([expect.objectContaining({ peer: liarKey, why: "banned" })]);
    expect(leech.runtime.whereis(["peer", ih, liarKey])).toBeUndefined();

    // Every verified byte came from the honest seed: each liar block fails its piece.
    const [honestUp, liarUp] = await Promise.all([honest.stats(ih), liar.stats(ih)]).then((s) => s.map((x) => x.counters.uploaded));
    expect(liarUp).toBeGreaterThan(0);
    expect(honestUp).toBeGreaterThanOrEqual(t.meta.length);
  }, 60_000);
});
