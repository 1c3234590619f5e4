import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  decodeUdpReply,
  decodeUdpRequest,
  encodeAnnounce,
  encodeAnnounceReply,
  encodeConnect,
  encodeConnectReply,
  encodeErrorReply,
  encodeScrape,
  encodeScrapeReply,
  type AnnounceRequest,
} from "../../src/protocol/tracker/index.js";

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const requestArb: fc.Arbitrary<AnnounceRequest> = fc.record({
  infoHash: bytes(20),
  peerId: bytes(20),
  port: fc.integer({ min: 0, max: 65535 }),
  uploaded: count,
  downloaded: count,
  left: count,
  event: fc.constantFrom("none" as const, "completed" as const, "started" as const, "stopped" as const),
  numwant: fc.integer({ min: -1, max: 0x7fffffff }),
  key: fc.integer({ min: 0, max: 0xffffffff }),
});
const txidArb = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const peerArb = fc.record({ host: ipv4, port: fc.integer({ min: 1, max: 65535 }) });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe("BEP 15 requests", () => {
  it("writes a connect request: protocol id, action 0, transaction id (16 bytes)", () => {
    expect(encodeConnect(0x01020304).toString("hex")).toBe("0000041727101980" + "00000000" + "01020304");
    expect(decodeUdpRequest(encodeConnect(7))).toEqual({ kind: "connect", txid: 7 });
  });

  it("round-trips announce requests (98 bytes)", () => {
    fc.assert(
      fc.property(bytes(8), txidArb, requestArb, (conn, txid, req) => {
        const packet = encodeAnnounce(conn, txid, req);
        expect(packet.length).toBe(98);
        expect(decodeUdpRequest(packet)).toEqual({ kind: "announce", connectionId: conn, txid, request: req });
      }),
    );
  });

  it("round-trips scrape requests and bounds them to 74 hashes", () => {
    fc.assert(
      fc.property(bytes(8), txidArb, fc.array(bytes(20), { minLength: 1, maxLength: 74 }), (conn, txid, hashes) => {
        expect(decodeUdpRequest(encodeScrape(conn, txid, hashes))).toEqual({ kind: "scrape", connectionId: conn, txid, infoHashes: hashes });
      }),
    );
    expect(() => encodeScrape(Buffer.alloc(8), 1, Array.from({ length: 75 }, () => Buffer.alloc(20)))).toThrow(RangeError);
    expect(() => encodeScrape(Buffer.alloc(8), 1, [])).toThrow(RangeError);
  });

  it("refuses our own malformed requests", () => {
    expect(() => encodeAnnounce(Buffer.alloc(7), 1, fc.sample(requestArb, 1)[0]!)).toThrow(RangeError);
    expect(() => encodeConnect(-1)).toThrow(RangeError);
    expect(() => encodeConnect(2 ** 32)).toThrow(RangeError);
  });
});

describe("BEP 15 replies", () => {
  it("reads a connect reply with our transaction id", () => {
    const conn = Buffer.from("0102030405060708", "hex");
    expect(decodeUdpReply(encodeConnectReply(9, conn), { txid: 9, action: "connect", maxPeers: 10 })).toEqual({ kind: "connected", connectionId: conn });
  });

  it("round-trips announce replies", () => {
    fc.assert(
      fc.property(txidArb, u32, u32, u32, fc.array(peerArb, { maxLength: 100 }), (txid, intervalSec, leechers, seeders, peers) => {
        const v = decodeUdpReply(encodeAnnounceReply(txid, { intervalSec, leechers, seeders, peers }), { txid, action: "announce", maxPeers: 1000 });
        expect(v).toEqual({
          kind: "announced",
          reply: { intervalSec, leechers, seeders, peers, peersDropped: 0, minIntervalSec: undefined, trackerId: undefined, warning: undefined },
        });
      }),
    );
  });

  it("reads 18-byte peers from an IPv6 tracker", () => {
    const packet = encodeAnnounceReply(1, { intervalSec: 5, leechers: 0, seeders: 1, peers: [{ host: "2001:db8::7", port: 80 }] }, "ipv6");
    expect(decodeUdpReply(packet, { txid: 1, action: "announce", family: "ipv6", maxPeers: 5 })).toMatchObject({
      kind: "announced",
      reply: { peers: [{ host: "2001:db8:0:0:0:0:0:7", port: 80 }] },
    });
  });

  it("round-trips scrape replies", () => {
    fc.assert(
      fc.property(txidArb, fc.array(fc.record({ seeders: u32, completed: u32, leechers: u32 }), { minLength: 1, maxLength: 74 }), (txid, entries) => {
        expect(decodeUdpReply(encodeScrapeReply(txid, entries), { txid, action: "scrape", scraped: entries.length, maxPeers: 0 })).toEqual({ kind: "scraped", entries });
      }),
    );
  });

  it("reads an error reply whatever we asked", () => {
    expect(decodeUdpReply(encodeErrorReply(4, "info hash not whitelisted"), { txid: 4, action: "announce", maxPeers: 1 })).toEqual({
      kind: "error",
      message: "info hash not whitelisted",
    });
  });

  it("ignores a datagram that is not for this transaction; fails one that is but is wrong", () => {
    const conn = Buffer.alloc(8, 1);
    expect(decodeUdpReply(encodeConnectReply(8, conn), { txid: 9, action: "connect", maxPeers: 1 })).toMatchObject({ kind: "stray" });
    expect(decodeUdpReply(Buffer.alloc(7), { txid: 0, action: "connect", maxPeers: 1 })).toMatchObject({ kind: "stray" });
    expect(decodeUdpReply(encodeConnectReply(9, conn), { txid: 9, action: "announce", maxPeers: 1 })).toMatchObject({ kind: "malformed" });
    expect(decodeUdpReply(encodeConnectReply(9, conn).subarray(0, 12), { txid: 9, action: "connect", maxPeers: 1 })).toMatchObject({ kind: "malformed" });
    const announce = encodeAnnounceReply(9, { intervalSec: 1, leechers: 0, seeders: 0, peers: [{ host: "1.2.3.4", port: 5 }] });
    expect(decodeUdpReply(announce.subarray(0, 19), { txid: 9, action: "announce", maxPeers: 1 })).toMatchObject({ kind: "malformed" });
    expect(decodeUdpReply(announce.subarray(0, 23), { txid: 9, action: "announce", maxPeers: 1 })).toMatchObject({ kind: "malformed", reason: expect.stringContaining("6-byte") });
    expect(decodeUdpReply(encodeScrapeReply(9, [{ seeders: 1, completed: 1, leechers: 1 }]), { txid: 9, action: "scrape", scraped: 2, maxPeers: 0 })).toMatchObject({ kind: "malformed" });
  });

  it("bounds the peers kept from one reply", () => {
    const peers = Array.from({ length: 50 }, (_, i) => ({ host: "10.0.0.1", port: i + 1 }));
    const v = decodeUdpReply(encodeAnnounceReply(1, { intervalSec: 1, leechers: 0, seeders: 0, peers }), { txid: 1, action: "announce", maxPeers: 20 });
    expect(v).toMatchObject({ kind: "announced", reply: { peersDropped: 30 } });
    expect(v.kind === "announced" && v.reply.peers.length).toBe(20);
  });

  it("never throws on random datagrams, either side", () => {
    const kinds = new Set(["connected", "announced", "scraped", "error", "stray", "malformed"]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), txidArb, fc.constantFrom("connect" as const, "announce" as const, "scrape" as const), (raw, txid, action) => {
        const packet = Buffer.from(raw);
        if (packet.length >= 8) packet.writeUInt32BE(txid, 4); // reach past the transaction check
        expect(kinds.has(decodeUdpReply(packet, { txid, action, maxPeers: 10, scraped: 3 }).kind)).toBe(true);
        expect(["connect", "announce", "scrape", "malformed"]).toContain(decodeUdpRequest(packet).kind);
      }),
      { numRuns: 3000 },
    );
  });
});
