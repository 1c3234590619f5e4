import { afterEach, describe, expect, it } from "vitest";
import {
  encodeAnnounceReply,
  encodeConnectReply,
  encodeErrorReply,
  encodeHttpAnnounce,
  type UdpRequestVerdict,
} from "../../src/protocol/tracker/index.js";
import { answer, lines, Scope, torrentWith, type FakeUdpTracker, type UdpSeen } from "./clientHarness.js";

const scope = new Scope();
afterEach(() => scope.close());
const { rig, udp: udpTracker } = scope;

const CONN = Buffer.from("0011223344556677", "hex");
const PEERS = [
  { host: "127.0.0.1", port: 6881 },
  { host: "127.0.0.1", port: 7001 },
];

/** A well-behaved BEP 15 tracker: connect -> CONN, announce -> PEERS every `interval` s. */
function wellBehaved(intervalSec = 1800): (s: UdpSeen) => Buffer | undefined {
  return (s) => {
    const q = s.request;
    if (q.kind === "connect") return encodeConnectReply(q.txid, CONN);
    if (q.kind === "announce") return encodeAnnounceReply(q.txid, { intervalSec, leechers: 1, seeders: 1, peers: PEERS });
    return undefined;
  };
}

const kinds = (t: FakeUdpTracker): UdpRequestVerdict["kind"][] => t.seen.items.map((s) => s.request.kind);
const announceOf = (s: UdpSeen | undefined) => {
  if (s?.request.kind !== "announce") throw new Error(`not an announce: ${s?.request.kind}`);
  return s.request;
};
const udpTiming = { retransmitBaseMs: 100, maxRetransmits: 2, connectionTtlMs: 60_000 };

describe("announcer over UDP (BEP 15)", () => {
  it("connects, announces with the connection id, and hands the peers (not itself) over", async () => {
    const t = await udpTracker(wellBehaved());
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, have: [0, 1, 2] });
    await r.peerCasts.until((c) => c.length === 1, "peers");
    expect(r.peerCasts.items[0]).toEqual([{ host: "127.0.0.1", port: 7001 }]);
    expect(kinds(t)).toEqual(["connect", "announce"]);
    const a = announceOf(t.seen.items[1]);
    expect(a.connectionId).toEqual(CONN);
    expect(a.request).toMatchObject({ event: "started", left: 0, port: 6881, numwant: 50, infoHash: r.state.meta.infoHash });
    expect(a.request.peerId.toString()).toBe("-SS0100-testtesttest");
  });

  it("reuses the connection id for 60 s, then connects again", async () => {
    const t = await udpTracker(wellBehaved(40));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { minReannounceMs: 1000 } });
    await r.peerCasts.until((c) => c.length === 1, "first answer");
    await r.advance(40_000);
    await r.peerCasts.until((c) => c.length === 2, "second answer (40 s: same id)");
    await r.advance(40_000);
    await r.peerCasts.until((c) => c.length === 3, "third answer (80 s: a new id)");
    expect(kinds(t)).toEqual(["connect", "announce", "announce", "connect", "announce"]);
    expect(announceOf(t.seen.items[2]).request.event).toBe("none");
  });

  it("retransmits on the injected schedule with the same transaction id, and a late answer still counts", async () => {
    const t = await udpTracker((s, n) => (n <= 2 ? undefined : wellBehaved()(s)));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { udp: { retransmitBaseMs: 100 } } });
    await t.seen.until((s) => s.length === 1, "first connect");
    const start = r.clock!.now();
    await r.advance(99);
    expect(t.seen.items).toHaveLength(1);
    await r.advance(1);
    await t.seen.until((s) => s.length === 2, "retransmission 1 at 100 ms");
    await r.advance(199);
    expect(t.seen.items).toHaveLength(2);
    await r.advance(1);
    await r.peerCasts.until((c) => c.length === 1, "answer to retransmission 2 at 300 ms");
    expect(r.clock!.now() - start).toBe(300);
    const txids = t.seen.items.slice(0, 3).map((s) => (s.request.kind === "connect" ? s.request.txid : -1));
    expect(new Set(txids).size).toBe(1);
  });

  it("ignores a datagram from another port or with another transaction id", async () => {
    const t = await udpTracker(() => undefined);
    const r = await rig(torrentWith([[t.url]]), { manualClock: true });
    await t.seen.until((s) => s.length === 1, "connect");
    const first = t.seen.items[0]!;
    const txid = first.request.kind === "connect" ? first.request.txid : -1;
    const stranger = await udpTracker(() => undefined);
    await stranger.send(encodeConnectReply(txid, CONN), first.from); // right id, wrong sender: dropped silently
    await t.send(encodeConnectReply((txid + 1) >>> 0, CONN), first.from); // right sender, wrong id: logged
    await r.logs.until((l) => l.some((x) => x.msg === "stray datagram"), "the wrong id dropped");
    expect(lines(r, "debug", "stray datagram")).toHaveLength(1);
    expect((await r.status()).asking).toBe(t.url);
    expect(kinds(t)).toEqual(["connect"]);
    await t.send(encodeConnectReply(txid, CONN), first.from);
    await t.seen.until((s) => s.some((x) => x.request.kind === "announce"), "the announce after the real reply");
  });

  it("fails a tracker after the last retransmission and fails over to the next tier", async () => {
    const silent = await udpTracker(() => undefined);
    const http = await scope.http((_s, _n, _req, res) => answer(res, encodeHttpAnnounce({ intervalSec: 1800, peers: [{ host: "127.0.0.9", port: 9 }] })));
    const r = await rig(torrentWith([[silent.url], [http.url]]), { manualClock: true, options: { udp: udpTiming } });
    await silent.seen.until((s) => s.length === 1, "connect");
    await r.advance(100);
    await silent.seen.until((s) => s.length === 2, "retransmission 1");
    await r.advance(200);
    await silent.seen.until((s) => s.length === 3, "retransmission 2");
    await r.advance(399);
    expect(http.seen.items).toHaveLength(0);
    await r.advance(1);
    await r.peerCasts.until((c) => c.length === 1, "the HTTP tier answers");
    expect(lines(r, "warn", "tracker failed")[0]!.obj).toMatchObject({ tracker: silent.url, reason: "no connect reply after 3 attempts" });
  });

  it("logs a tracker's error reply once and backs off", async () => {
    const t = await udpTracker((s) => {
      const q = s.request;
      if (q.kind === "connect") return encodeConnectReply(q.txid, CONN);
      if (q.kind === "announce") return encodeErrorReply(q.txid, "info hash not whitelisted");
      return undefined;
    });
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { backoff: { baseMs: 1000, maxMs: 4000 } } });
    for (let i = 1; i <= 3; i++) {
      await r.logs.until((l) => l.filter((x) => x.msg.startsWith("tracker failed")).length >= i, `failure ${i}`);
      await r.advance(4000);
    }
    expect(lines(r, "warn", "tracker failed").map((l) => l.obj.reason)).toEqual(["tracker error: info hash not whitelisted"]);
    expect(lines(r, "debug", "tracker failed again").length).toBeGreaterThanOrEqual(2);
    // The connection id was reused across the retries (one connect, then announces).
    expect(kinds(t).filter((k) => k === "connect")).toHaveLength(1);
  });

  it("turns a socket that cannot bind into a logged failure, then opens a new one", async () => {
    const t = await udpTracker(wellBehaved());
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: bind fails with EADDRNOTAVAIL.
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, localAddress: "192.0.2.1", options: { backoff: { baseMs: 1000, maxMs: 1000 } } });
    await r.logs.until((l) => l.some((x) => x.msg === "tracker failed"), "the failure");
    expect(lines(r, "warn", "tracker failed")[0]!.obj.reason).toMatch(/^(socket|send): .*EADDRNOTAVAIL/);
    await r.advance(1000);
    await r.logs.until((l) => l.some((x) => x.msg === "tracker failed again"), "a retry on a new socket, failing the same way");
    expect(r.pid !== "ignore" && r.rt.isAlive(r.pid)).toBe(true);
  });

  it("tells the tracker stopped when it stops, over the connection id it holds", async () => {
    const t = await udpTracker(wellBehaved());
    const r = await rig(torrentWith([[t.url]]), { manualClock: true });
    await r.peerCasts.until((c) => c.length === 1, "answer");
    await r.stop();
    await t.seen.until((s) => s.length === 3, "stopped");
    const stopped = announceOf(t.seen.items[2]);
    expect(stopped.request).toMatchObject({ event: "stopped", numwant: 0 });
    expect(stopped.connectionId).toEqual(CONN);
  });

  it("connects first to send stopped when the connection id expired", async () => {
    const t = await udpTracker(wellBehaved());
    const r = await rig(torrentWith([[t.url]]), { manualClock: true });
    await r.peerCasts.until((c) => c.length === 1, "answer");
    r.clock!.advanceTo(r.clock!.now() + 61_000); // past the id's life, no timer due
    await r.stop();
    await t.seen.until((s) => s.length === 4, "connect + stopped");
    expect(kinds(t)).toEqual(["connect", "announce", "connect", "announce"]);
    expect(announceOf(t.seen.items[3]).request.event).toBe("stopped");
  });
});
