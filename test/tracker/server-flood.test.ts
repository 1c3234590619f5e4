/**
 * tracker_server under a flood of fake announces (real sockets, 127.0.0.1): the table stops
 * at its limits with failure reasons, the heap stops growing once the table is full, and
 * requests beyond the mailbox bound are shed at the door while the tracker keeps answering.
 */
import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { trackerStats } from "../../actors/trackerServer.js";
import { compactPeers, httpAnnounce, udpAnnouncePacket, udpScrapePacket, type UdpClient, type UdpResponse } from "./serverClient.js";
import { closeTrackers, tracker, udpClient } from "./serverFixture.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

afterEach(closeTrackers);

interface Announce {
  readonly infoHash: Buffer;
  readonly ip: number;
  readonly port: number;
}

/** Sends every announce over UDP with `window` in flight; returns how each was answered (error messages by text). */
async function flood(c: UdpClient, connectionId: Buffer, announces: readonly Announce[], window = 128): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>();
  const tally = (r: UdpResponse): void => {
    const key = r.action === "error" ? r.message : r.action;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < announces.length) {
      const a = announces[next++] as Announce;
      tally(await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: a.infoHash, peerId: randomBytes(20), port: a.port, ip: a.ip })));
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return outcomes;
}

const randomAnnounce = (infoHash: Buffer = randomBytes(20)): Announce => ({
  infoHash,
  ip: (0x0a000000 | (randomBytes(4).readUInt32BE(0) & 0xffffff)) >>> 0, // 10.x.y.z, claimed from loopback
  port: 1 + (randomBytes(2).readUInt16BE(0) % 65535),
});

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("tracker_server under a flood of fake announces", () => {
  it("20,000 announces for random info-hashes stop at maxTorrents (default limits); 20,000 more add nothing, heap included", async () => {
    const t = await tracker();
    const c = await udpClient(t.port);
    const connectionId = await c.connect();
    const before = heapAfterGc();

    const first = await flood(c, connectionId, Array.from({ length: 20_000 }, () => randomAnnounce()));
    expect(first.get("announce")).toBe(10_000);
    expect(first.get("tracker full: it serves at most 10000 torrents")).toBe(10_000);
    const full = await trackerStats(t.rt, t.pid);
    expect([full.torrents, full.peers]).toEqual([10_000, 10_000]);
    const afterFirst = heapAfterGc();

    const second = await flood(c, connectionId, Array.from({ length: 20_000 }, () => randomAnnounce()));
    expect(second.get("tracker full: it serves at most 10000 torrents")).toBe(20_000);
    const afterSecond = heapAfterGc();
    const stats = await trackerStats(t.rt, t.pid);
    expect([stats.torrents, stats.peers, stats.udp.announced, stats.udp.refused]).toEqual([10_000, 10_000, 10_000, 30_000]);

    const tableBytes = afterFirst - before;
    const growthWhenFull = afterSecond - afterFirst;
    // A full table of 10,000 one-peer swarms costs a few MB; refused announces cost nothing that stays.
    expect(tableBytes).toBeLessThan(40 * 1024 * 1024);
    expect(growthWhenFull).toBeLessThan(Math.max(2 * 1024 * 1024, tableBytes / 10));
  }, 60_000);

  it("a skewed flood meets swarmFull and trackerFull; every swarm and the total stay within their limits", async () => {
    const limits = { maxTorrents: 200, maxPeersPerTorrent: 50, maxPeers: 3_000 };
    const t = await tracker({ limits });
    const c = await udpClient(t.port);
    const connectionId = await c.connect();
    const hot = Array.from({ length: 10 }, () => randomBytes(20));
    const cold = Array.from({ length: 390 }, () => randomBytes(20));
    const pick = (list: Buffer[]): Buffer => list[randomBytes(2).readUInt16BE(0) % list.length] as Buffer;
    const announces = Array.from({ length: 20_000 }, (_, i) => randomAnnounce(i % 2 === 0 ? pick(hot) : pick(cold)));
    const outcomes = await flood(c, connectionId, announces);

    expect(outcomes.get("swarm full: at most 50 peers per torrent")).toBeGreaterThan(0);
    expect(outcomes.get("tracker full: at most 3000 peers")).toBeGreaterThan(0);
    expect(outcomes.get("tracker full: it serves at most 200 torrents")).toBeGreaterThan(0);
    const stats = await trackerStats(t.rt, t.pid);
    expect(stats.peers).toBe(3_000);
    expect(stats.torrents).toBeLessThanOrEqual(200);
    for (let i = 0; i < hot.length + cold.length; i += 74) {
      const batch = [...hot, ...cold].slice(i, i + 74);
      const scrape = await c.exchange(udpScrapePacket(c.tid(), connectionId, batch));
      if (scrape.action !== "scrape") throw new Error(JSON.stringify(scrape));
      for (const f of scrape.files) expect(f.seeders + f.leechers).toBeLessThanOrEqual(50);
    }
    // Full as it is, the tracker still serves the peers it has.
    const listed = await httpAnnounce(t.port, { infoHash: hot[0] as Buffer, peerId: randomBytes(20), port: 1, event: "stopped" });
    expect(compactPeers(listed.get("peers"))).toEqual([]);
  }, 60_000);

  it("past maxQueuedRequests waiting in the mailbox, datagrams are shed at the door; the tracker answers on", async () => {
    const t = await tracker({ limits: { maxQueuedRequests: 8 } });
    const c = await udpClient(t.port);
    const connectionId = await c.connect();
    // Small enough for the kernel's default receive buffer: every datagram reaches the socket.
    const burst = 100;
    for (let i = 0; i < burst; i++) {
      c.send(udpAnnouncePacket(1_000_000 + i, { connectionId, infoHash: randomBytes(20), peerId: randomBytes(20), port: 1 + i }));
    }
    // Every datagram of the burst is either served or shed; wait (bounded) until all are accounted for.
    let stats = await trackerStats(t.rt, t.pid);
    for (let turn = 0; stats.udp.announced + stats.shed < burst; turn++) {
      if (turn > 10_000) throw new Error(`burst not accounted for: ${JSON.stringify(stats)}`);
      await new Promise<void>((resolve) => setImmediate(resolve));
      stats = await trackerStats(t.rt, t.pid);
    }
    expect(stats.shed).toBeGreaterThan(0);
    expect(stats.udp.announced + stats.shed).toBe(burst);
    expect(stats.peers).toBe(stats.udp.announced);
    const after = await c.exchange(udpScrapePacket(c.tid(), connectionId, [randomBytes(20)]));
    expect(after.action).toBe("scrape");
  });
});
