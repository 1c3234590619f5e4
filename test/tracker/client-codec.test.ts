import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  buildAnnounceUrl,
  compactEntry,
  encodeCompactPeers,
  encodeHttpAnnounce,
  encodeHttpFailure,
  encodeHttpScrape,
  parseHttpAnnounce,
  parseTrackerUrl,
  peerAt,
  percentEncodeBytes,
  type AnnounceRequest,
  type TrackerPeer,
} from "../../src/protocol/tracker/index.js";
import { decode, encode, type BencodeDict, type BencodeEncodable } from "../../src/protocol/bencode.js";
import { queryBytes } from "./clientHarness.js";

type Dict = Map<string, BencodeEncodable>;

const request = (over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: Buffer.alloc(20, 0xab),
  peerId: Buffer.from("-SS0100-abcdefghijkl"),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  event: "started",
  numwant: 50,
  key: 0xdeadbeef,
  ...over,
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const peerArb = fc.record({ host: ipv4, port: fc.integer({ min: 1, max: 65535 }) });

describe("tracker URLs", () => {
  it("tells http, https and udp apart and refuses the rest with a reason", () => {
    expect(parseTrackerUrl("http://t.example/announce?passkey=x#frag")).toEqual({ kind: "http", href: "http://t.example/announce?passkey=x" });
    expect(parseTrackerUrl("https://t.example/a").kind).toBe("http");
    expect(parseTrackerUrl("udp://127.0.0.1:6969/announce")).toMatchObject({ kind: "udp", host: "127.0.0.1", port: 6969 });
    expect(parseTrackerUrl("udp://[::1]:80")).toMatchObject({ kind: "udp", host: "::1", port: 80 });
    expect(parseTrackerUrl("udp://t.example/announce")).toMatchObject({ kind: "rejected", reason: expect.stringContaining("port") });
    expect(parseTrackerUrl("wss://t.example/")).toMatchObject({ kind: "rejected", reason: expect.stringContaining("wss:") });
    expect(parseTrackerUrl("not a url")).toMatchObject({ kind: "rejected", reason: "not a URL" });
    expect(parseTrackerUrl(`http://x/${"a".repeat(3000)}`).kind).toBe("rejected");
  });

  it("percent-encodes every byte outside the unreserved set", () => {
    expect(percentEncodeBytes(Buffer.from([0x00, 0x41, 0x20, 0x7e, 0xff, 0x2f]))).toBe("%00A%20~%FF%2F");
  });

  it("puts every parameter in the URL, byte-exact", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (ih, pid) => {
        const url = buildAnnounceUrl("http://t/announce", request({ infoHash: Buffer.from(ih), peerId: Buffer.from(pid), trackerId: Buffer.from([1, 2, 255]) }));
        const q = queryBytes(url);
        expect(q.get("info_hash")).toEqual(Buffer.from(ih));
        expect(q.get("peer_id")).toEqual(Buffer.from(pid));
        expect(q.get("trackerid")).toEqual(Buffer.from([1, 2, 255]));
        expect(Object.fromEntries([...q].filter(([k]) => !["info_hash", "peer_id", "trackerid"].includes(k)).map(([k, v]) => [k, v.toString()]))).toEqual({
          port: "6881",
          uploaded: "1",
          downloaded: "2",
          left: "3",
          compact: "1",
          numwant: "50",
          key: "DEADBEEF",
          event: "started",
        });
      }),
    );
  });

  it("appends to a query the tracker URL already has, and omits event for a regular announce", () => {
    const url = buildAnnounceUrl("http://t/announce?passkey=abc", request({ event: "none" }));
    expect(url.startsWith("http://t/announce?passkey=abc&info_hash=")).toBe(true);
    expect(url).not.toContain("event=");
    expect(buildAnnounceUrl("http://t/a?", request()).startsWith("http://t/a?info_hash=")).toBe(true);
  });

  it("refuses a malformed request of ours as a programming error", () => {
    expect(() => buildAnnounceUrl("http://t/", request({ infoHash: Buffer.alloc(19) }))).toThrow(RangeError);
    expect(() => buildAnnounceUrl("http://t/", request({ left: -1 }))).toThrow(RangeError);
    expect(() => buildAnnounceUrl("http://t/", request({ key: 2 ** 32 }))).toThrow(RangeError);
  });
});

describe("compact peer entries (one codec for the client and the embedded tracker)", () => {
  const canonical = (ip: string): string => new URL(`http://[${ip}]/`).hostname;
  const port = fc.integer({ min: 1, max: 65535 });

  it("round-trip any IPv4 address in 6 bytes and any IPv6 address (an IPv4 tail too) in 18", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ host: ipv4, port }), { maxLength: 8 }), (peers) => {
        const bytes = encodeCompactPeers(peers, "ipv4");
        expect(bytes).toEqual(Buffer.concat(peers.map(compactEntry)));
        expect(peers.map((_, i) => peerAt(bytes, 6 * i, "ipv4"))).toEqual(peers);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ host: fc.ipV6(), port }), { maxLength: 8 }), (peers) => {
        const bytes = encodeCompactPeers(peers, "ipv6");
        expect(bytes).toEqual(Buffer.concat(peers.map(compactEntry)));
        peers.forEach((peer, i) => {
          const back = peerAt(bytes, 18 * i, "ipv6");
          expect(canonical(back.host)).toBe(canonical(peer.host));
          expect(back.port).toBe(peer.port);
        });
      }),
    );
    expect(compactEntry({ host: "64:ff9b::1.2.3.4", port: 80 }).toString("hex")).toBe("0064ff9b000000000000000001020304" + "0050");
  });

  it("refuse a peer of the other family or a host name as a programming error", () => {
    expect(() => encodeCompactPeers([{ host: "::1", port: 1 }], "ipv4")).toThrow(RangeError);
    expect(() => encodeCompactPeers([{ host: "10.0.0.1", port: 1 }], "ipv6")).toThrow(RangeError);
    expect(() => compactEntry({ host: "seed.example", port: 1 })).toThrow(RangeError);
  });
});

describe("HTTP announce replies", () => {
  const opts = { maxPeers: 1000 };

  it("reads a compact reply with every optional field", () => {
    const body = encodeHttpAnnounce({
      intervalSec: 900,
      minIntervalSec: 60,
      trackerId: Buffer.from("tid"),
      seeders: 3,
      leechers: 4,
      warning: "slow down",
      peers: [{ host: "10.0.0.1", port: 6881 }, { host: "::1", port: 51413 }],
    });
    const v = parseHttpAnnounce(body, opts);
    expect(v).toEqual({
      kind: "announced",
      reply: {
        intervalSec: 900,
        minIntervalSec: 60,
        trackerId: Buffer.from("tid"),
        seeders: 3,
        leechers: 4,
        warning: "slow down",
        peers: [{ host: "10.0.0.1", port: 6881 }, { host: "0:0:0:0:0:0:0:1", port: 51413 }],
        peersDropped: 0,
      },
    });
  });

  it("reads the dictionary model and drops peers it cannot dial", () => {
    const peers = [
      new Map<string, BencodeEncodable>([["ip", Buffer.from("10.1.2.3")], ["port", 7000], ["peer id", Buffer.alloc(20)]]),
      new Map<string, BencodeEncodable>([["ip", Buffer.from("seed.example")], ["port", 7001]]),
      new Map<string, BencodeEncodable>([["ip", Buffer.from("not a host!")], ["port", 7002]]),
      new Map<string, BencodeEncodable>([["ip", Buffer.from("10.1.2.4")], ["port", 0]]),
    ];
    const v = parseHttpAnnounce(encode(new Map<string, BencodeEncodable>([["interval", 60], ["peers", peers]])), opts);
    expect(v).toMatchObject({ kind: "announced", reply: { peers: [{ host: "10.1.2.3", port: 7000 }, { host: "seed.example", port: 7001 }], peersDropped: 2 } });
  });

  it("takes a missing interval as 1800 s and missing peers as none", () => {
    expect(parseHttpAnnounce(encode(new Map()), opts)).toMatchObject({ kind: "announced", reply: { intervalSec: 1800, peers: [] } });
  });

  it("reads a failure reason (with BEP 31 retry in) before anything else", () => {
    expect(parseHttpAnnounce(encodeHttpFailure("unregistered torrent"), opts)).toEqual({ kind: "failure", reason: "unregistered torrent", retryInSec: undefined });
    expect(parseHttpAnnounce(encodeHttpFailure("busy", 5), opts)).toEqual({ kind: "failure", reason: "busy", retryInSec: 300 });
    expect(parseHttpAnnounce(encodeHttpFailure("gone", "never"), opts)).toMatchObject({ retryInSec: Infinity });
  });

  it("keeps tracker text safe to log: control characters replaced, length cut", () => {
    const v = parseHttpAnnounce(encodeHttpFailure(`a\nb\u0000${"x".repeat(2000)}`), opts);
    expect(v.kind === "failure" && v.reason.startsWith("a\uFFFDb\uFFFDx")).toBe(true);
    expect(v.kind === "failure" && v.reason.length).toBeLessThanOrEqual(515);
  });

  it("names the field that is wrong", () => {
    const cases: [Dict, string][] = [
      [new Map([["interval", Buffer.from("60")]]), "interval"],
      [new Map([["interval", -1]]), "interval"],
      [new Map([["min interval", new Map()]]), "min interval"],
      [new Map([["complete", Buffer.from("x")]]), "complete"],
      [new Map([["tracker id", 5]]), "tracker id"],
      [new Map([["peers", Buffer.alloc(7)]]), "peers"],
      [new Map([["peers", 5]]), "peers"],
      [new Map([["peers", [5]]]), "peers"],
      [new Map([["peers6", Buffer.alloc(6)]]), "peers6"],
      [new Map([["failure reason", 1]]), "failure reason"],
    ];
    for (const [dict, where] of cases) {
      expect(parseHttpAnnounce(encode(dict), opts)).toMatchObject({ kind: "malformed", where });
    }
    expect(parseHttpAnnounce(Buffer.from("<html>503</html>"), opts)).toMatchObject({ kind: "malformed", where: "body byte 0" });
    expect(parseHttpAnnounce(encode([1, 2]), opts)).toMatchObject({ kind: "malformed", where: "body" });
  });

  it("keeps at most maxPeers and counts the rest", () => {
    const peers = Array.from({ length: 30 }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 1000 + i }));
    const v = parseHttpAnnounce(encodeHttpAnnounce({ intervalSec: 1, peers }), { maxPeers: 10 });
    expect(v).toMatchObject({ kind: "announced", reply: { peers: peers.slice(0, 10), peersDropped: 20 } });
  });

  it("round-trips random peer lists in both models", () => {
    fc.assert(
      fc.property(fc.array(peerArb, { maxLength: 60 }), fc.constantFrom("compact" as const, "dict" as const), fc.nat(100_000), (peers: TrackerPeer[], model, interval) => {
        const v = parseHttpAnnounce(encodeHttpAnnounce({ intervalSec: interval, peers, model }), opts);
        expect(v).toMatchObject({ kind: "announced", reply: { intervalSec: interval, peers, peersDropped: 0 } });
      }),
    );
  });

  it("writes what an embedded tracker adds: downloaded, peer ids in the dictionary model, compact entries as given", () => {
    const id = Buffer.alloc(20, 7);
    const entry = compactEntry({ host: "2001:db8::9", port: 9 });
    const dictBody = decode(
      encodeHttpAnnounce({ intervalSec: 60, downloaded: 12, model: "dict", peers: [{ host: "10.0.0.1", port: 1, peerId: id }, { host: "10.0.0.2", port: 2 }, entry] }),
    ) as BencodeDict;
    expect(dictBody.get("downloaded")).toBe(12);
    const listed = dictBody.get("peers") as BencodeDict[];
    expect(listed.map((p) => [p.get("ip")?.toString(), p.get("port"), p.get("peer id")])).toEqual([
      ["10.0.0.1", 1, id],
      ["10.0.0.2", 2, undefined],
      ["2001:db8:0:0:0:0:0:9", 9, undefined],
    ]);
    const compact = decode(encodeHttpAnnounce({ intervalSec: 60, peers: [entry, compactEntry({ host: "10.0.0.3", port: 3 }), { host: "10.0.0.4", port: 4 }] })) as BencodeDict;
    expect(compact.get("peers")).toEqual(Buffer.from("0a0000030003" + "0a0000040004", "hex"));
    expect(compact.get("peers6")).toEqual(entry);
    expect(compact.has("downloaded")).toBe(false);
    expect(() => encodeHttpAnnounce({ intervalSec: 1, peers: [Buffer.alloc(7)] })).toThrow(RangeError);
  });

  it("writes a BEP 48 scrape body keyed by raw info-hash", () => {
    const ih = Buffer.alloc(20, 0xfe);
    const body = decode(encodeHttpScrape([{ infoHash: ih, seeders: 1, completed: 2, leechers: 3 }])) as BencodeDict;
    const file = (body.get("files") as BencodeDict).get(ih.toString("latin1")) as BencodeDict;
    expect(Object.fromEntries(file)).toEqual({ complete: 1, downloaded: 2, incomplete: 3 });
    expect(encodeHttpScrape([]).toString()).toBe("d5:filesdee");
  });

  it("never throws on mutated or random bytes", () => {
    const valid = encodeHttpAnnounce({ intervalSec: 60, minIntervalSec: 30, trackerId: Buffer.from("t"), peers: [{ host: "1.2.3.4", port: 5 }] });
    const kinds = new Set(["announced", "failure", "malformed"]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { minLength: 1, maxLength: 6 }), (edits) => {
        const bytes = Buffer.from(valid);
        for (const [at, b] of edits) bytes[at] = b;
        expect(kinds.has(parseHttpAnnounce(bytes, opts).kind)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void expect(kinds.has(parseHttpAnnounce(Buffer.from(bytes), opts).kind)).toBe(true)));
  });
});
