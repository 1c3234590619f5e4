/**
 * The tracker's swarm table alone (no sockets): add, update, leave, expire, limits, private
 * mode; and a model-based property over random announce/expire sequences.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { resolveLimits, type TrackerLimits } from "../../actors/trackerServer/limits.js";
import { SwarmTable, type AnnounceVerdict, type PeerEntry } from "../../actors/trackerServer/swarmTable.js";
import { compactEndpoint } from "../../actors/trackerServer/endpoint.js";
import type { AnnounceEvent, AnnounceRequest } from "../../actors/trackerServer/types.js";

const IH_A = "a".repeat(40);
const IH_B = "b".repeat(40);
const IH_C = "c".repeat(40);

function req(infoHash: string, port: number, overrides: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return {
    infoHash,
    peerId: Buffer.from(`-TT0001-${String(port).padStart(12, "0")}`),
    endpoint: { family: "ipv4", ip: "10.0.0.1", port },
    uploaded: 0,
    downloaded: 0,
    left: 100,
    event: "none",
    numwant: undefined,
    ...overrides,
  };
}

const portsOf = (v: AnnounceVerdict): number[] =>
  v.kind === "joined" || v.kind === "updated" ? v.peers.map((p) => Buffer.from(p.key, "latin1").readUInt16BE(4)).sort((a, b) => a - b) : [];

const open = (limits: Partial<TrackerLimits> = {}): SwarmTable => new SwarmTable(resolveLimits(limits), { kind: "open" }, () => 0);

describe("SwarmTable", () => {
  it("joins, updates in place, and never lists the requester", () => {
    const t = open();
    expect(t.announce(req(IH_A, 1), 0).kind).toBe("joined");
    const second = t.announce(req(IH_A, 2), 0);
    expect(second.kind).toBe("joined");
    expect(portsOf(second)).toEqual([1]);
    const again = t.announce(req(IH_A, 1, { left: 0 }), 5);
    expect(again).toMatchObject({ kind: "updated", counts: { complete: 1, incomplete: 1, downloaded: 0 } });
    expect(portsOf(again)).toEqual([2]);
    expect(t.counts()).toEqual({ torrents: 1, peers: 2, seeders: 1, registered: 0 });
  });

  it("keys peers by endpoint: a new peer id from the same address:port replaces, another address with the same peer id is not returned to it", () => {
    const t = open();
    t.announce(req(IH_A, 1), 0);
    expect(t.announce(req(IH_A, 1, { peerId: Buffer.alloc(20, 7) }), 0).kind).toBe("updated");
    expect(t.counts().peers).toBe(1);
    const sameId = req(IH_A, 2, { peerId: Buffer.alloc(20, 7) });
    expect(portsOf(t.announce(sameId, 0))).toEqual([]);
  });

  it("a seed gets only leechers", () => {
    const t = open();
    t.announce(req(IH_A, 1, { left: 0 }), 0);
    t.announce(req(IH_A, 2, { left: 0 }), 0);
    t.announce(req(IH_A, 3, { left: 9 }), 0);
    expect(portsOf(t.announce(req(IH_A, 4, { left: 0 }), 0))).toEqual([3]);
    expect(portsOf(t.announce(req(IH_A, 5, { left: 9 }), 0))).toEqual([1, 2, 3, 4]);
  });

  it("counts a peer's completed event once; stopped removes the peer and an empty swarm", () => {
    const t = open();
    t.announce(req(IH_A, 1), 0);
    t.announce(req(IH_A, 1, { left: 0, event: "completed" }), 0);
    t.announce(req(IH_A, 1, { left: 0, event: "completed" }), 0);
    t.announce(req(IH_A, 2), 0);
    expect(t.scrape([IH_A])).toEqual({ kind: "scraped", files: [{ infoHash: IH_A, complete: 1, incomplete: 1, downloaded: 1 }] });
    expect(t.announce(req(IH_A, 1, { event: "stopped" }), 0)).toEqual({ kind: "left", counts: { complete: 0, incomplete: 1, downloaded: 1 } });
    expect(t.announce(req(IH_A, 2, { event: "stopped" }), 0)).toEqual({ kind: "left", counts: { complete: 0, incomplete: 0, downloaded: 1 } });
    expect(t.counts()).toEqual({ torrents: 0, peers: 0, seeders: 0, registered: 0 });
    // stopped from a stranger: no swarm is made for it.
    expect(t.announce(req(IH_B, 9, { event: "stopped" }), 0)).toEqual({ kind: "left", counts: { complete: 0, incomplete: 0, downloaded: 0 } });
    expect(t.counts().torrents).toBe(0);
  });

  it("expires peers last seen at or before now - expiry, and the swarms they leave empty", () => {
    const t = open();
    t.announce(req(IH_A, 1), 0);
    t.announce(req(IH_A, 2), 1000);
    t.announce(req(IH_B, 3), 0);
    expect(t.expire(1500, 1000)).toEqual({ peersRemoved: 2, torrentsRemoved: 1 });
    expect(t.counts()).toEqual({ torrents: 1, peers: 1, seeders: 0, registered: 0 });
    expect(t.expire(1999, 1000)).toEqual({ peersRemoved: 0, torrentsRemoved: 0 });
    expect(t.expire(2000, 1000)).toEqual({ peersRemoved: 1, torrentsRemoved: 1 });
  });

  it("refuses a new torrent, a new peer in a full swarm, or past the total, but keeps updating listed peers", () => {
    const t = open({ maxTorrents: 2, maxPeersPerTorrent: 2, maxPeers: 3 });
    t.announce(req(IH_A, 1), 0);
    t.announce(req(IH_A, 2), 0);
    expect(t.announce(req(IH_A, 3), 0)).toEqual({ kind: "refused", refusal: { kind: "swarmFull", limit: 2 } });
    t.announce(req(IH_B, 4), 0);
    expect(t.announce(req(IH_C, 5), 0)).toEqual({ kind: "refused", refusal: { kind: "tooManyTorrents", limit: 2 } });
    expect(t.announce(req(IH_B, 5), 0)).toEqual({ kind: "refused", refusal: { kind: "trackerFull", limit: 3 } });
    expect(t.announce(req(IH_A, 1, { left: 0 }), 1).kind).toBe("updated");
    expect(t.counts()).toEqual({ torrents: 2, peers: 3, seeders: 1, registered: 0 });
  });

  it("numwant picks that many (capped), going round from a random start", () => {
    let next = 0;
    const t = new SwarmTable(resolveLimits({ maxNumwant: 3 }), { kind: "open" }, () => next);
    for (let port = 1; port <= 6; port++) t.announce(req(IH_A, port), 0);
    next = 0.5; // start at slot 3 of 6
    expect(portsOf(t.announce(req(IH_A, 9, { numwant: 2 }), 0))).toEqual([4, 5]);
    expect(portsOf(t.announce(req(IH_A, 9, { numwant: 1000 }), 0))).toHaveLength(3);
    expect(portsOf(t.announce(req(IH_A, 9, { numwant: 0 }), 0))).toEqual([]);
  });

  it("private: only registered info-hashes; registration is bounded by maxTorrents", () => {
    const t = new SwarmTable(resolveLimits({ maxTorrents: 2 }), { kind: "private", infoHashes: [IH_A] });
    expect(t.announce(req(IH_B, 1), 0)).toEqual({ kind: "refused", refusal: { kind: "unregisteredTorrent", infoHash: IH_B } });
    expect(t.scrape([IH_A, IH_B])).toEqual({ kind: "refused", refusal: { kind: "unregisteredTorrent", infoHash: IH_B } });
    expect(t.allow(IH_B)).toEqual({ kind: "registered", infoHash: IH_B });
    expect(t.allow(IH_B)).toEqual({ kind: "alreadyRegistered", infoHash: IH_B });
    expect(t.allow(IH_C)).toEqual({ kind: "refused", refusal: { kind: "tooManyTorrents", limit: 2 } });
    expect(t.announce(req(IH_B, 1), 0).kind).toBe("joined");
    expect(open().allow(IH_A)).toEqual({ kind: "openTracker" });
  });
});

// ---- model-based property ------------------------------------------------------------------

type Op =
  | { readonly op: "announce"; readonly hash: number; readonly peer: number; readonly peerIdOf: number; readonly seeder: boolean; readonly event: AnnounceEvent; readonly numwant: number | undefined }
  | { readonly op: "advance"; readonly ms: number }
  | { readonly op: "expire" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("announce" as const),
      hash: fc.nat({ max: 5 }),
      peer: fc.nat({ max: 12 }),
      peerIdOf: fc.nat({ max: 12 }),
      seeder: fc.boolean(),
      event: fc.constantFrom<AnnounceEvent>("none", "none", "none", "started", "completed", "stopped", "paused"),
      numwant: fc.option(fc.nat({ max: 20 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.nat({ max: 4000 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: "expire" as const }) },
);

interface ModelPeer {
  seeder: boolean;
  lastSeen: number;
}

/** The table's rules restated plainly: maps of maps, no indices. */
class Model {
  readonly swarms = new Map<string, Map<string, ModelPeer>>();
  constructor(readonly limits: TrackerLimits) {}

  get peers(): number {
    let n = 0;
    for (const s of this.swarms.values()) n += s.size;
    return n;
  }

  announce(hash: string, key: string, seeder: boolean, event: AnnounceEvent, now: number): "listed" | "left" | "refused" {
    const swarm = this.swarms.get(hash);
    if (event === "stopped") {
      swarm?.delete(key);
      if (swarm?.size === 0) this.swarms.delete(hash);
      return "left";
    }
    const existing = swarm?.get(key);
    if (existing !== undefined) {
      existing.seeder = seeder;
      existing.lastSeen = now;
      return "listed";
    }
    if (swarm === undefined && this.swarms.size >= this.limits.maxTorrents) return "refused";
    if (swarm !== undefined && swarm.size >= this.limits.maxPeersPerTorrent) return "refused";
    if (this.peers >= this.limits.maxPeers) return "refused";
    const target = swarm ?? new Map<string, ModelPeer>();
    this.swarms.set(hash, target);
    target.set(key, { seeder, lastSeen: now });
    return "listed";
  }

  expire(now: number): void {
    for (const [hash, swarm] of this.swarms) {
      for (const [key, peer] of swarm) if (peer.lastSeen <= now - this.limits.expirySeconds * 1000) swarm.delete(key);
      if (swarm.size === 0) this.swarms.delete(hash);
    }
  }
}

describe("SwarmTable property: agrees with a plain model and keeps its invariants", () => {
  it("over random announce / advance / expire sequences", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 150, size: "max" }), fc.double({ min: 0, max: 0.999, noNaN: true }), (ops, r) => {
        const limits = resolveLimits({ intervalSeconds: 2, expirySeconds: 3, maxTorrents: 4, maxPeersPerTorrent: 5, maxPeers: 9, defaultNumwant: 4, maxNumwant: 6 });
        const table = new SwarmTable(limits, { kind: "open" }, () => r);
        const model = new Model(limits);
        let now = 0;
        for (const o of ops) {
          switch (o.op) {
            case "advance":
              now += o.ms;
              break;
            case "expire":
              table.expire(now, limits.expirySeconds * 1000);
              model.expire(now);
              break;
            case "announce": {
              const hash = String(o.hash).repeat(40);
              const request: AnnounceRequest = {
                infoHash: hash,
                peerId: Buffer.alloc(20, o.peerIdOf),
                endpoint: { family: "ipv4", ip: "10.0.0.1", port: 1000 + o.peer },
                uploaded: 0,
                downloaded: 0,
                left: o.seeder ? 0 : 1,
                event: o.event,
                numwant: o.numwant,
              };
              const key = compactEndpoint(request.endpoint).toString("latin1");
              const verdict = table.announce(request, now);
              const expected = model.announce(hash, key, o.seeder, o.event, now);
              const got = verdict.kind === "joined" || verdict.kind === "updated" ? "listed" : verdict.kind;
              expect(got).toBe(expected);
              if (verdict.kind === "joined" || verdict.kind === "updated") {
                const listed = model.swarms.get(hash) as Map<string, ModelPeer>;
                const keys = verdict.peers.map((p: PeerEntry) => p.key);
                expect(new Set(keys).size).toBe(keys.length);
                expect(keys).not.toContain(key);
                expect(keys.length).toBeLessThanOrEqual(Math.min(o.numwant ?? limits.defaultNumwant, limits.maxNumwant));
                for (const p of verdict.peers) {
                  expect(listed.has(p.key)).toBe(true);
                  expect(p.peerId).not.toBe(request.peerId.toString("latin1"));
                  if (o.seeder) expect(p.seeder).toBe(false);
                }
              }
              break;
            }
          }
          const counts = table.counts();
          expect(counts.torrents).toBe(model.swarms.size);
          expect(counts.peers).toBe(model.peers);
          expect(counts.torrents).toBeLessThanOrEqual(limits.maxTorrents);
          expect(counts.peers).toBeLessThanOrEqual(limits.maxPeers);
          let seeders = 0;
          for (const [hash, swarm] of model.swarms) {
            const complete = [...swarm.values()].filter((p) => p.seeder).length;
            seeders += complete;
            const scraped = table.scrape([hash]);
            expect(scraped.kind === "scraped" && scraped.files[0]).toMatchObject({ complete, incomplete: swarm.size - complete });
            expect(swarm.size).toBeLessThanOrEqual(limits.maxPeersPerTorrent);
          }
          expect(counts.seeders).toBe(seeders);
        }
      }),
      { numRuns: 200 },
    );
  });
});
