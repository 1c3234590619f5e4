/**
 * The tracker's request parsing is total: random and mutated HTTP targets and UDP datagrams
 * give typed verdicts, never throws, and well-formed requests read back what was sent.
 * Also: addresses (compact round trips, the loopback rule) and connection ids.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ConnectionIds } from "../../actors/trackerServer/connectionId.js";
import { chooseEndpoint, compactEndpoint, endpointFromCompact, endpointOf } from "../../actors/trackerServer/endpoint.js";
import { parseHttpRequest, type HttpRequestFacts } from "../../actors/trackerServer/httpRequest.js";
import { resolveLimits } from "../../actors/trackerServer/limits.js";
import { decodeComponent, parseTarget } from "../../actors/trackerServer/query.js";
import { answerHttp, answerUdp, type ServeContext } from "../../actors/trackerServer/serve.js";
import { SwarmTable } from "../../actors/trackerServer/swarmTable.js";
import { parseUdpRequest } from "../../actors/trackerServer/udpPacket.js";
import type { PeerEndpoint } from "../../actors/trackerServer/types.js";
import { announcePath, escapeBytes, udpAnnouncePacket, udpConnectPacket, udpScrapePacket } from "./serverClient.js";

const limits = resolveLimits();
const LOOPBACK: PeerEndpoint = { family: "ipv4", ip: "127.0.0.1", port: 40000 };
const HTTP_KINDS = ["announce", "scrape", "failure", "httpError"];
const UDP_KINDS = ["connect", "announce", "scrape", "invalid", "dropped"];

const facts = (target: string, method = "GET"): HttpRequestFacts => ({ method, target, contentLength: undefined, transferEncoding: undefined, source: LOOPBACK });

/** Small edits that turn a valid request into a plausible hostile one. */
const editArb = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);
type Edit = typeof editArb extends fc.Arbitrary<infer E> ? E : never;

function edit(bytes: Buffer, e: Edit): Buffer {
  const at = bytes.length === 0 ? 0 : e.at % bytes.length;
  switch (e.kind) {
    case "set": {
      const out = Buffer.from(bytes);
      if (out.length > 0) out[at] = e.byte;
      return out;
    }
    case "insert":
      return Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.count)]);
    case "truncate":
      return bytes.subarray(0, at);
  }
}

const announceArb = fc.record({
  infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((a) => Buffer.from(a)),
  peerId: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((a) => Buffer.from(a)),
  port: fc.integer({ min: 1, max: 65535 }),
  left: fc.maxSafeNat(),
  uploaded: fc.maxSafeNat(),
  downloaded: fc.maxSafeNat(),
  event: fc.constantFrom("started", "completed", "stopped", "paused", ""),
  numwant: fc.option(fc.nat({ max: 10_000 }), { nil: undefined }),
});

function serveContext(): ServeContext {
  return { table: new SwarmTable(resolveLimits({ maxTorrents: 50, maxPeers: 200 }), { kind: "open" }), limits, ids: new ConnectionIds(randomBytes(32), 120_000), now: 0 };
}

describe("query strings", () => {
  it("any bytes survive percent-encoding byte by byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeComponent(escapeBytes(Buffer.from(bytes)))?.equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it("any string gives a typed outcome; the parameter count is capped", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (target, max) => {
        const out = parseTarget(target, max);
        expect(["parsed", "invalid"]).toContain(out.kind);
        if (out.kind === "parsed") {
          let values = 0;
          for (const list of out.params.values()) values += list.length;
          expect(values).toBeLessThanOrEqual(max);
        }
      }),
    );
    expect(parseTarget(`/a?${"x=1&".repeat(10)}`, 5)).toEqual({ kind: "invalid", reason: "more than 5 query parameters" });
    expect(decodeComponent("%4")).toBeUndefined();
    expect(decodeComponent("a+b%20c")?.toString()).toBe("a b c");
    expect(decodeComponent("\u0100")).toBeUndefined();
  });
});

describe("HTTP requests", () => {
  it("a well-formed announce reads back every field", () => {
    fc.assert(
      fc.property(announceArb, (a) => {
        const v = parseHttpRequest(facts(announcePath({ ...a, event: a.event === "" ? undefined : a.event })), limits);
        expect(v.kind).toBe("announce");
        if (v.kind !== "announce") return;
        expect(v.request.infoHash).toBe(a.infoHash.toString("hex"));
        expect(v.request.peerId.equals(a.peerId)).toBe(true);
        expect(v.request.endpoint).toEqual({ family: "ipv4", ip: "127.0.0.1", port: a.port });
        expect([v.request.left, v.request.uploaded, v.request.downloaded, v.request.numwant]).toEqual([a.left, a.uploaded, a.downloaded, a.numwant]);
        expect(v.request.event).toBe(a.event === "" ? "none" : a.event);
        expect(v.format).toBe("compact");
      }),
    );
  });

  it("a proxy's absolute-form target names the same path", () => {
    const path = announcePath({ infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, 2), port: 6881 });
    expect(parseHttpRequest(facts(`http://tracker.example:6969${path}`), limits).kind).toBe("announce");
    expect(parseHttpRequest(facts("http://tracker.example:6969/other"), limits).kind).toBe("httpError");
  });

  it("random and mutated targets, any method, only give typed verdicts", () => {
    const target = fc.oneof(
      fc.string({ unit: "binary", maxLength: 400 }),
      fc.tuple(announceArb, fc.array(editArb, { maxLength: 4 })).map(([a, edits]) => edits.reduce<Buffer>((b, e) => edit(b, e), Buffer.from(announcePath(a), "latin1")).toString("latin1")),
      fc.tuple(fc.array(fc.uint8Array({ minLength: 0, maxLength: 24 }), { maxLength: 80 })).map(([hashes]) => `/scrape?${hashes.map((h) => `info_hash=${escapeBytes(Buffer.from(h))}`).join("&")}`),
    );
    fc.assert(
      fc.property(target, fc.constantFrom("GET", "POST", "HEAD", undefined), fc.option(fc.string({ maxLength: 5 }), { nil: undefined }), (t, method, length) => {
        const v = parseHttpRequest({ ...facts(t), method, contentLength: length }, limits);
        expect(HTTP_KINDS).toContain(v.kind);
        if (v.kind === "scrape") {
          expect(v.request.infoHashes.length).toBeGreaterThan(0);
          expect(v.request.infoHashes.length).toBeLessThanOrEqual(limits.maxScrapeHashes);
        }
        // The whole pipeline (decide and encode) is total too.
        const answer = answerHttp({ ...facts(t), method, contentLength: length }, serveContext());
        expect([200, 404, 405, 413, 414]).toContain(answer.status);
      }),
      { numRuns: 500 },
    );
  });
});

describe("UDP requests", () => {
  it("a well-formed announce and scrape read back their fields", () => {
    fc.assert(
      fc.property(announceArb, fc.nat({ max: 0xffffffff }), fc.integer({ min: -1, max: 5000 }), (a, tid, numwant) => {
        const connectionId = randomBytes(8);
        const v = parseUdpRequest(udpAnnouncePacket(tid, { connectionId, infoHash: a.infoHash, peerId: a.peerId, port: a.port, left: BigInt(a.left), event: 2, numwant }), LOOPBACK, limits);
        expect(v).toMatchObject({ kind: "announce", transactionId: tid, connectionId });
        if (v.kind !== "announce") return;
        expect(v.request.infoHash).toBe(a.infoHash.toString("hex"));
        expect(v.request).toMatchObject({ left: a.left, event: "started", numwant: numwant < 0 ? undefined : numwant, endpoint: { ip: "127.0.0.1", port: a.port } });
        const s = parseUdpRequest(udpScrapePacket(tid, connectionId, [a.infoHash, a.peerId]), LOOPBACK, limits);
        expect(s).toMatchObject({ kind: "scrape", request: { infoHashes: [a.infoHash.toString("hex"), a.peerId.toString("hex")] } });
      }),
    );
  });

  it("random and mutated datagrams only give typed verdicts, through the whole pipeline", () => {
    const ctx = serveContext();
    const valid = fc.oneof(
      fc.nat().map((tid) => udpConnectPacket(tid)),
      announceArb.map((a) => udpAnnouncePacket(1, { connectionId: ctx.ids.issue(LOOPBACK, 0), infoHash: a.infoHash, peerId: a.peerId, port: a.port })),
      fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }), { minLength: 1, maxLength: 80 }).map((hs) => udpScrapePacket(2, ctx.ids.issue(LOOPBACK, 0), hs.map((h) => Buffer.from(h)))),
    );
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.tuple(valid, fc.array(editArb, { maxLength: 4 })).map(([p, edits]) => edits.reduce((b, e) => edit(b, e), p)),
    );
    fc.assert(
      fc.property(datagram, (packet) => {
        const v = parseUdpRequest(packet, LOOPBACK, limits);
        expect(UDP_KINDS).toContain(v.kind);
        const answer = answerUdp(packet, LOOPBACK, ctx);
        if (answer.kind === "reply") expect(answer.packet.length).toBeLessThanOrEqual(8 + 200 * 6 + 12);
      }),
      { numRuns: 1000 },
    );
  });

  it("a datagram shorter than a header, or a connect without the magic, is dropped", () => {
    expect(parseUdpRequest(Buffer.alloc(15), LOOPBACK, limits).kind).toBe("dropped");
    const noMagic = udpConnectPacket(5);
    noMagic[7] = (noMagic[7] ?? 0) ^ 0xff;
    expect(parseUdpRequest(noMagic, LOOPBACK, limits).kind).toBe("dropped");
  });
});

describe("addresses", () => {
  const canonical = (ip: string): string => new URL(`http://[${ip}]/`).hostname;

  it("compact forms round-trip (IPv4 in 6 bytes, IPv6 in 18)", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
        const e = endpointOf(ip, port) as PeerEndpoint;
        expect(compactEndpoint(e)).toHaveLength(6);
        expect(endpointFromCompact(compactEndpoint(e))).toEqual(e);
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
        const e = endpointOf(ip, port);
        if (e === undefined || e.family === "ipv4") return; // e.g. ::ffff:1.2.3.4 is an IPv4 peer
        const back = endpointFromCompact(compactEndpoint(e));
        expect(compactEndpoint(e)).toHaveLength(18);
        expect(canonical(back.ip)).toBe(canonical(e.ip));
        expect(back.port).toBe(port);
      }),
    );
  });

  it("an IPv4-mapped address is IPv4; a claimed ip counts only from loopback", () => {
    expect(endpointOf("::ffff:10.1.2.3", 5)).toEqual({ family: "ipv4", ip: "10.1.2.3", port: 5 });
    expect(endpointOf("not an ip", 5)).toBeUndefined();
    const remote: PeerEndpoint = { family: "ipv4", ip: "203.0.113.9", port: 6881 };
    expect(chooseEndpoint(remote, "10.0.0.1")).toEqual(remote);
    expect(chooseEndpoint(LOOPBACK, "10.0.0.1")).toEqual({ family: "ipv4", ip: "10.0.0.1", port: LOOPBACK.port });
    expect(chooseEndpoint({ family: "ipv6", ip: "::1", port: 1 }, "2001:db8::1")).toEqual({ family: "ipv6", ip: "2001:db8::1", port: 1 });
    expect(chooseEndpoint(LOOPBACK, "garbage")).toEqual(LOOPBACK);
  });
});

describe("connection ids", () => {
  it("valid from the address they were issued to, for their lifetime; forged otherwise", () => {
    const ids = new ConnectionIds(randomBytes(32), 120_000);
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.nat({ max: 10_000_000 }), fc.nat({ max: 200_000 }), (ip, port, issuedAt, age) => {
        const source: PeerEndpoint = { family: "ipv4", ip, port };
        const id = ids.issue(source, issuedAt);
        const verdict = ids.check(id, source, issuedAt + age);
        // Issue times are kept in whole seconds: the age seen is up to 1 s more than `age`.
        const seenAge = issuedAt + age - Math.floor(issuedAt / 1000) * 1000;
        expect(verdict.kind).toBe(seenAge > 120_000 ? "expired" : "valid");
        expect(ids.check(id, { ...source, port: port === 1 ? 2 : port - 1 }, issuedAt).kind).toBe("forged");
        const tampered = Buffer.from(id);
        tampered[7] = (tampered[7] ?? 0) ^ 1;
        expect(ids.check(tampered, source, issuedAt).kind).toBe("forged");
      }),
    );
    expect(new ConnectionIds(randomBytes(32), 1000).check(Buffer.alloc(3), LOOPBACK, 0).kind).toBe("forged");
  });
});
