/**
 * tracker_server over real sockets on 127.0.0.1: HTTP announce/scrape (compact and
 * dictionary), UDP connect/announce/scrape with a hand-built client, input validation,
 * expiry and connection-id lifetime on a manual clock, private mode, owned sockets.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Reason, Runtime, advance, startSupervisor, type Pid } from "../../src/runtime/index.js";
import { TRACKER_SUP, trackerSup } from "../../supervisors/trackerSup.js";
import type { BencodeDict, BencodeList } from "../../src/protocol/bencode.js";
import { allowInfoHash, startTrackerServer, TRACKER_SERVER, trackerAddress, trackerStats } from "../../actors/trackerServer.js";
import {
  announcePath,
  bdict,
  compactPeers,
  httpAnnounce,
  httpRequest,
  scrapePath,
  text,
  udpAnnouncePacket,
  udpScrapePacket,
} from "./serverClient.js";
import { closeTrackers, keepTracker, tracker, udpClient } from "./serverFixture.js";

afterEach(closeTrackers);

const hash = (): Buffer => randomBytes(20);
const peerId = (): Buffer => randomBytes(20);

describe("tracker_server: HTTP", () => {
  it("announce answers compact peers (BEP 23), never the requester, with counts and interval", async () => {
    const t = await tracker({ limits: { intervalSeconds: 300 } });
    const ih = hash();
    const seed = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7001, left: 0, event: "started" });
    expect(compactPeers(seed.get("peers"))).toEqual([]);
    expect(seed.get("interval")).toBe(300);
    expect(seed.get("complete")).toBe(1);

    const leech = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7002, left: 500, event: "started" });
    expect(compactPeers(leech.get("peers"))).toEqual(["127.0.0.1:7001"]);
    expect([leech.get("complete"), leech.get("incomplete")]).toEqual([1, 1]);

    // The seed asks again: it gets the leecher, not itself.
    const again = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7001, left: 0 });
    expect(compactPeers(again.get("peers"))).toEqual(["127.0.0.1:7002"]);
  });

  it("compact=0 answers BEP 3's list of dicts, with peer id unless no_peer_id=1", async () => {
    const t = await tracker();
    const ih = hash();
    const firstId = Buffer.from("-XX0001-abcdefghijkl");
    await httpAnnounce(t.port, { infoHash: ih, peerId: firstId, port: 7001 });
    const withId = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7002, compact: "0" });
    const peers = withId.get("peers") as BencodeList;
    expect(peers).toHaveLength(1);
    const peer = peers[0] as BencodeDict;
    expect(text(peer.get("ip"))).toBe("127.0.0.1");
    expect(peer.get("port")).toBe(7001);
    expect((peer.get("peer id") as Buffer).equals(firstId)).toBe(true);

    const withoutId = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7003, compact: "0", noPeerId: true });
    const bare = (withoutId.get("peers") as BencodeList)[0] as BencodeDict;
    expect(bare.has("peer id")).toBe(false);
    expect(bare.get("port")).toBeTypeOf("number");
  });

  it("scrape counts complete, incomplete and completed events; stopped leaves the swarm", async () => {
    const t = await tracker();
    const ih = hash();
    const other = hash();
    const leecher = peerId();
    await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7001, left: 0 });
    await httpAnnounce(t.port, { infoHash: ih, peerId: leecher, port: 7002, left: 10, event: "started" });
    await httpAnnounce(t.port, { infoHash: ih, peerId: leecher, port: 7002, left: 0, event: "completed" });
    await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7003, left: 10 });

    const reply = bdict((await httpRequest(t.port, scrapePath([ih, other]))).body);
    const files = reply.get("files") as BencodeDict;
    expect(Object.fromEntries(files.get(ih.toString("latin1")) as BencodeDict)).toEqual({ complete: 2, downloaded: 1, incomplete: 1 });
    expect(Object.fromEntries(files.get(other.toString("latin1")) as BencodeDict)).toEqual({ complete: 0, downloaded: 0, incomplete: 0 });

    const stopped = await httpAnnounce(t.port, { infoHash: ih, peerId: leecher, port: 7002, left: 0, event: "stopped" });
    expect(compactPeers(stopped.get("peers"))).toEqual([]);
    expect((await trackerStats(t.rt, t.pid)).peers).toBe(2);
  });

  it("numwant bounds the list, and is capped by maxNumwant", async () => {
    const t = await tracker({ limits: { maxNumwant: 3, defaultNumwant: 2 } });
    const ih = hash();
    for (let port = 7001; port <= 7010; port++) await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port });
    const asker = { infoHash: ih, peerId: peerId(), port: 7100 };
    expect(compactPeers((await httpAnnounce(t.port, { ...asker, numwant: 1 })).get("peers"))).toHaveLength(1);
    expect(compactPeers((await httpAnnounce(t.port, asker)).get("peers"))).toHaveLength(2);
    expect(compactPeers((await httpAnnounce(t.port, { ...asker, numwant: 500 })).get("peers"))).toHaveLength(3);
    expect(compactPeers((await httpAnnounce(t.port, { ...asker, numwant: 0 })).get("peers"))).toHaveLength(0);
  });

  it("a loopback client may name its address with ip=", async () => {
    const t = await tracker();
    const ih = hash();
    await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7001, ip: "10.9.8.7" });
    const reply = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7002 });
    expect(compactPeers(reply.get("peers"))).toEqual(["10.9.8.7:7001"]);
  });

  it("bad parameters get HTTP 200 with a failure reason, and the table does not change", async () => {
    const t = await tracker();
    const ok = { infoHash: hash(), peerId: peerId(), port: 7001 };
    const cases: [string, RegExp][] = [
      [announcePath(ok).replace(/info_hash=[^&]*&/, ""), /missing info_hash/],
      [announcePath({ ...ok, infoHash: randomBytes(19) }), /info_hash: 19 bytes/],
      [announcePath({ ...ok, peerId: randomBytes(21) }), /peer_id: 21 bytes/],
      [announcePath({ ...ok, port: 0 }), /invalid port 0/],
      [announcePath({ ...ok, port: 70000 }), /invalid port 70000/],
      [announcePath(ok).replace(/&left=\d+/, ""), /missing left/],
      [announcePath(ok).replace(/left=\d+/, "left=-5"), /invalid left/],
      [announcePath({ ...ok, event: "exploded" }), /unknown event/],
      [announcePath(ok) + "&numwant=lots", /invalid numwant/],
      [announcePath(ok) + "&x=%zz", /percent-encoding/],
      [`${announcePath(ok)}&info_hash=${"%00".repeat(20)}`, /info_hash given 2 times/],
      ["/scrape", /full scrape/],
      [`/scrape?info_hash=${"%01".repeat(5)}`, /info_hash: 5 bytes/],
    ];
    for (const [path, reason] of cases) {
      const reply = await httpRequest(t.port, path);
      expect(reply.status, path).toBe(200);
      expect(text(bdict(reply.body).get("failure reason")), path).toMatch(reason);
    }
    const stats = await trackerStats(t.rt, t.pid);
    expect(stats.peers).toBe(0);
    expect(stats.http.failed).toBe(cases.length);
  });

  it("what is not a tracker request gets an HTTP error status", async () => {
    const t = await tracker({ limits: { maxUrlBytes: 2000 } });
    expect((await httpRequest(t.port, "/")).status).toBe(404);
    expect((await httpRequest(t.port, "/announce.php?x=1")).status).toBe(404);
    const post = await httpRequest(t.port, "/announce", { method: "POST", body: Buffer.from("hello") });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET");
    const withBody = await httpRequest(t.port, "/announce", { method: "GET", body: Buffer.from("x".repeat(100)), headers: { "Content-Length": "100" } });
    expect(withBody.status).toBe(413);
    expect((await httpRequest(t.port, `/announce?${"a".repeat(2100)}`)).status).toBe(414);
    // Node's own limit on header bytes (maxHeaderBytes) answers 431 before we see the request.
    expect((await httpRequest(t.port, "/announce", { headers: { "X-Big": "y".repeat(20_000) } })).status).toBe(431);
    const stats = await trackerStats(t.rt, t.pid);
    expect(stats.http.rejected).toBe(5);
  });
});

describe("tracker_server: UDP (BEP 15)", () => {
  it("connect, announce and scrape on the HTTP port; peers exclude the requester", async () => {
    const t = await tracker({ limits: { intervalSeconds: 90 } });
    const c = await udpClient(t.port);
    const connectionId = await c.connect();
    const ih = hash();
    const first = await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: ih, peerId: peerId(), port: 6001, left: 0n, event: 2 }));
    expect(first).toEqual({ action: "announce", interval: 90, leechers: 0, seeders: 1, peers: [] });
    const second = await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: ih, peerId: peerId(), port: 6002, left: 5n, event: 2 }));
    expect(second).toEqual({ action: "announce", interval: 90, leechers: 1, seeders: 1, peers: ["127.0.0.1:6001"] });

    // An HTTP client sees the UDP peers: one table behind both transports.
    const viaHttp = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 6003 });
    expect(compactPeers(viaHttp.get("peers")).sort()).toEqual(["127.0.0.1:6001", "127.0.0.1:6002"]);

    await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: ih, peerId: peerId(), port: 6002, left: 0n, event: 1 }));
    const scrape = await c.exchange(udpScrapePacket(c.tid(), connectionId, [ih, hash()]));
    expect(scrape).toEqual({
      action: "scrape",
      files: [
        { seeders: 2, completed: 1, leechers: 1 },
        { seeders: 0, completed: 0, leechers: 0 },
      ],
    });
  });

  it("refuses forged connection ids and bad packets with error packets; ignores what is not BEP 15", async () => {
    const t = await tracker();
    const c = await udpClient(t.port);
    const forged = await c.exchange(udpAnnouncePacket(c.tid(), { connectionId: randomBytes(8), infoHash: hash(), peerId: peerId(), port: 6001 }));
    expect(forged).toEqual({ action: "error", message: "unknown connection id" });

    const connectionId = await c.connect();
    const short = udpAnnouncePacket(c.tid(), { connectionId, infoHash: hash(), peerId: peerId(), port: 6001 }).subarray(0, 60);
    expect(await c.exchange(short)).toMatchObject({ action: "error", message: expect.stringMatching(/60 bytes/) });
    const portZero = udpAnnouncePacket(c.tid(), { connectionId, infoHash: hash(), peerId: peerId(), port: 0 });
    expect(await c.exchange(portZero)).toMatchObject({ action: "error", message: "invalid port 0" });
    const badEvent = udpAnnouncePacket(c.tid(), { connectionId, infoHash: hash(), peerId: peerId(), port: 6001, event: 9 });
    expect(await c.exchange(badEvent)).toMatchObject({ action: "error", message: expect.stringMatching(/event 9/) });
    const unknown = Buffer.alloc(16);
    connectionId.copy(unknown, 0);
    unknown.writeUInt32BE(77, 8);
    unknown.writeUInt32BE(c.tid(), 12);
    expect(await c.exchange(unknown)).toMatchObject({ action: "error", message: "unknown action 77" });

    // No answer to garbage, a connect without the magic, or a bad request without a valid
    // connection id (its source may be spoofed); the next request is still served.
    c.send(Buffer.from("hello"));
    const noMagic = Buffer.alloc(16);
    noMagic.writeUInt32BE(c.tid(), 12);
    c.send(noMagic);
    c.send(udpAnnouncePacket(c.tid(), { connectionId: randomBytes(8), infoHash: hash(), peerId: peerId(), port: 0 }));
    c.send(randomBytes(4000));
    expect((await c.exchange(udpScrapePacket(c.tid(), connectionId, [hash()]))).action).toBe("scrape");
    const stats = await trackerStats(t.rt, t.pid);
    expect(stats.udp.dropped).toBe(3); // the 4000-byte datagram never reached the mailbox
    expect(stats.peers).toBe(0);
  });

  it("a connection id works only from the address it was issued to", async () => {
    const t = await tracker();
    const a = await udpClient(t.port);
    const b = await udpClient(t.port);
    const idOfA = await a.connect();
    const reply = await b.exchange(udpAnnouncePacket(b.tid(), { connectionId: idOfA, infoHash: hash(), peerId: peerId(), port: 6001 }));
    expect(reply).toEqual({ action: "error", message: "unknown connection id" });
  });
});

describe("tracker_server: time (manual clock)", () => {
  it("peers expire after expirySeconds without an announce; an announcing peer stays", async () => {
    const clock = new ManualClock();
    const t = await tracker({ clock, limits: { intervalSeconds: 60, expirySeconds: 90 } });
    const ih = hash();
    const quiet = { infoHash: ih, peerId: peerId(), port: 7001 };
    const chatty = { infoHash: ih, peerId: peerId(), port: 7002 };
    await httpAnnounce(t.port, quiet);
    await httpAnnounce(t.port, chatty);
    await advance(clock, 60_000);
    await httpAnnounce(t.port, chatty);
    expect((await trackerStats(t.rt, t.pid)).peers).toBe(2);
    await advance(clock, 60_000); // quiet: 120 s since its announce; chatty: 60 s
    expect((await trackerStats(t.rt, t.pid)).peers).toBe(1);
    const asker = await httpAnnounce(t.port, { infoHash: ih, peerId: peerId(), port: 7003 });
    expect(compactPeers(asker.get("peers"))).toEqual(["127.0.0.1:7002"]);
    await advance(clock, 200_000);
    const stats = await trackerStats(t.rt, t.pid);
    expect([stats.peers, stats.torrents]).toEqual([0, 0]);
  });

  it("a UDP connection id is accepted for 120 s after it was issued, then refused as expired", async () => {
    const clock = new ManualClock();
    const t = await tracker({ clock });
    const c = await udpClient(t.port);
    const connectionId = await c.connect();
    await advance(clock, 119_000);
    const fresh = await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: hash(), peerId: peerId(), port: 6001 }));
    expect(fresh.action).toBe("announce");
    await advance(clock, 2_000);
    const stale = await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: hash(), peerId: peerId(), port: 6001 }));
    expect(stale).toEqual({ action: "error", message: "connection id expired (121 s old)" });
  });
});

describe("tracker_server: private mode", () => {
  it("serves only registered info-hashes, and one added at run time", async () => {
    const known = hash();
    const later = hash();
    const t = await tracker({ privateInfoHashes: [known.toString("hex").toUpperCase()] });
    const refused = bdict((await httpRequest(t.port, announcePath({ infoHash: later, peerId: peerId(), port: 7001 }))).body);
    expect(text(refused.get("failure reason"))).toBe(`unregistered torrent ${later.toString("hex")}`);
    expect(text(bdict((await httpRequest(t.port, scrapePath([later]))).body).get("failure reason"))).toMatch(/unregistered/);
    const c = await udpClient(t.port);
    const connectionId = await c.connect();
    const udpRefused = await c.exchange(udpAnnouncePacket(c.tid(), { connectionId, infoHash: later, peerId: peerId(), port: 7001 }));
    expect(udpRefused).toEqual({ action: "error", message: `unregistered torrent ${later.toString("hex")}` });

    expect((await httpAnnounce(t.port, { infoHash: known, peerId: peerId(), port: 7001 })).has("failure reason")).toBe(false);
    expect(await allowInfoHash(t.rt, t.pid, later.toString("hex"))).toEqual({ kind: "registered", infoHash: later.toString("hex") });
    expect(await allowInfoHash(t.rt, t.pid, later.toString("hex"))).toEqual({ kind: "alreadyRegistered", infoHash: later.toString("hex") });
    expect((await httpAnnounce(t.port, { infoHash: later, peerId: peerId(), port: 7001 })).has("failure reason")).toBe(false);
    await expect(allowInfoHash(t.rt, t.pid, "not-hex")).rejects.toThrow(RangeError);
    const stats = await trackerStats(t.rt, t.pid);
    expect([stats.registered, stats.torrents, stats.http.refused, stats.udp.refused]).toEqual([2, 2, 2, 1]);
  });

  it("an open tracker says so when asked to register", async () => {
    const t = await tracker();
    expect(await allowInfoHash(t.rt, t.pid, hash().toString("hex"))).toEqual({ kind: "openTracker" });
  });
});

describe("tracker_server: lifecycle", () => {
  it("binds HTTP and UDP on the same port of the given host only, and closes both when it exits", async () => {
    const t = await tracker();
    const elsewhere = connect({ host: "127.0.0.2", port: t.port });
    const refused = await new Promise<string>((resolve) => {
      elsewhere.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      elsewhere.once("connect", () => resolve("connected"));
    });
    elsewhere.destroy();
    expect(refused).toBe("ECONNREFUSED");

    // A keep-alive connection is open when it stops: it is closed too.
    const kept = connect({ host: "127.0.0.1", port: t.port });
    kept.on("error", () => undefined);
    await new Promise<void>((resolve) => kept.once("connect", resolve));
    const keptClosed = new Promise<void>((resolve) => kept.once("close", () => resolve()));
    await t.rt.stop(t.pid, Reason.shutdown());
    await keptClosed;

    const udp = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind({ address: "127.0.0.1", port: t.port }, resolve);
    });
    udp.close();
    // And the TCP port is free again: a new tracker takes it.
    const again = await startTrackerServer({ host: "127.0.0.1", port: t.port, runtime: t.rt, name: "again" });
    keepTracker({ rt: t.rt, pid: again, port: t.port });
    expect((await trackerAddress(t.rt, again)).port).toBe(t.port);
  });

  it("under tracker_sup, a killed tracker comes back on its port with an empty table", async () => {
    const first = await tracker();
    const port = first.port;
    await first.rt.stop(first.pid, Reason.shutdown()); // a port known to be free, for a fixed-port start
    const rt = new Runtime();
    const sup = await startSupervisor(trackerSup({ host: "127.0.0.1", port }), { runtime: rt, name: TRACKER_SUP, link: false });
    try {
      const ih = hash();
      await httpAnnounce(port, { infoHash: ih, peerId: peerId(), port: 7001 });
      const old = rt.whereis(TRACKER_SERVER) as Pid;
      const restarted = new Promise<void>((resolve) => {
        const off = rt.subscribe((event) => {
          if (event.type === "restarted") {
            off();
            resolve();
          }
        });
      });
      rt.exit(old, Reason.kill);
      await restarted;
      const fresh = rt.whereis(TRACKER_SERVER) as Pid;
      expect(fresh).not.toBe(old);
      expect(await trackerAddress(rt, fresh)).toEqual({ host: "127.0.0.1", port });
      const reply = await httpAnnounce(port, { infoHash: ih, peerId: peerId(), port: 7002 });
      expect(compactPeers(reply.get("peers"))).toEqual([]); // the table died with the old tracker
      const c = await udpClient(port);
      expect((await c.connect()).length).toBe(8);
    } finally {
      await rt.stop(sup, Reason.shutdown());
    }
  });

  it("fails to start when the port is taken (UDP side), with a bind error that says where", async () => {
    const udp = createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind({ address: "127.0.0.1", port: 0 }, resolve));
    const port = udp.address().port;
    const rt = new Runtime();
    try {
      await expect(startTrackerServer({ host: "127.0.0.1", port, runtime: rt })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ \(udp\): EADDRINUSE/);
      // The TCP side it had bound is closed again.
      const probe = connect({ host: "127.0.0.1", port });
      const outcome = await new Promise<string>((resolve) => {
        probe.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        probe.once("connect", () => resolve("connected"));
      });
      probe.destroy();
      expect(outcome).toBe("ECONNREFUSED");
    } finally {
      udp.close();
    }
  });

  it("refuses bad options before binding anything", async () => {
    await expect(startTrackerServer({ host: "127.0.0.1", port: 70000 })).rejects.toThrow(RangeError);
    await expect(startTrackerServer({ host: "127.0.0.1", port: 0, limits: { maxPeers: 0 } })).rejects.toThrow(/maxPeers/);
    await expect(startTrackerServer({ host: "127.0.0.1", port: 0, limits: { intervalSeconds: 100, expirySeconds: 50 } })).rejects.toThrow(/expirySeconds/);
    await expect(startTrackerServer({ host: "127.0.0.1", port: 0, privateInfoHashes: ["abc"] })).rejects.toThrow(/40 hex digits/);
  });
});
