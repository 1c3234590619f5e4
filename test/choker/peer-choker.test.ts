/**
 * A real peer actor under a choker, seen from the wire: a scripted remote peer (RawPeer)
 * dials a seed node whose runtime runs the choker. The link registers when active, reports
 * its rates at the cadence the choker asked for, is unchoked and choked by the choker's
 * commands (BEP 6: queued requests rejected with fast, dropped without), and its death
 * frees its row.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, advance, settle } from "../../src/runtime/index.js";
import { encodeMessage, type WireMessage } from "../../src/protocol/wire/index.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { choker, startChoker, type ChokerOptions, type RechokeEvent } from "../../actors/choker.js";
import { startNode, torrentOf, until, type TorrentNode } from "../peer/peerNode.js";
import { RawPeer } from "../peer/rawPeer.js";

const PIECE = 32 * 1024;
const nodes: TorrentNode[] = [];
const raws: RawPeer[] = [];

afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
  for (const r of raws.splice(0)) r.destroy();
});

interface Setup {
  readonly node: TorrentNode;
  readonly meta: Metainfo;
  readonly events: RechokeEvent[];
  dial(opts?: { fast?: boolean }): Promise<RawPeer>;
}

async function seedWithChoker(options: ChokerOptions & { clock?: ManualClock; maxReads?: number } = {}): Promise<Setup> {
  const data = randomBytes(PIECE * 8);
  const meta = torrentOf(data, PIECE);
  const { clock, maxReads, ...chokerOptions } = options;
  const node = await startNode({
    meta,
    seedData: data,
    listen: true,
    label: "seed",
    ...(clock === undefined ? {} : { clock }),
    ...(maxReads === undefined ? {} : { peerOptions: { maxReads } }),
  });
  nodes.push(node);
  const events: RechokeEvent[] = [];
  await startChoker({ ...chokerOptions, onRechoke: (e) => void events.push(e) }, node.rt);
  return {
    node,
    meta,
    events,
    async dial(opts = {}) {
      const raw = await RawPeer.dial(node.port!, { infoHash: meta.infoHash, torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length }, ...opts });
      raws.push(raw);
      await raw.waitType(opts.fast === false ? "bitfield" : "haveAll");
      return raw;
    },
  };
}

const send = (raw: RawPeer, ...msgs: WireMessage[]): void => raw.write(Buffer.concat(msgs.map(encodeMessage)));
const request = (index: number, begin: number, length: number): WireMessage => ({ type: "request", index, begin, length });

async function rows(s: Setup) {
  return (await choker.status(s.node.rt)).torrents.find((t) => t.infoHash === s.meta.infoHashHex)?.peers ?? [];
}

/** 32 requests of 1 KiB: more than the reads in flight, so some are still queued when the choke comes. */
function manyRequests(): WireMessage[] {
  return Array.from({ length: 32 }, (_, i) => request(i % 8, (i >> 3) * 1024, 1024));
}

describe("a peer actor under the choker", () => {
  it("registers when active, is unchoked by the choker when interested, choked when not", async () => {
    const s = await seedWithChoker();
    const raw = await s.dial();
    await until(async () => (await rows(s)).length === 1);
    const [row] = await rows(s);
    expect(row).toMatchObject({ key: `127.0.0.1:${raw.socket.localPort}`, interested: false, unchoked: false });

    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    expect(s.events.at(-1)).toMatchObject({ cause: "interest", verdict: { mode: "seeding", unchoke: [{ key: row!.key, slot: "regular" }] } });

    const mark = raw.received.length;
    send(raw, { type: "notInterested" });
    await raw.waitType("choke", mark);
    expect(s.events.at(-1)?.verdict.choke).toEqual([{ id: row!.id, key: row!.key, why: "notInterested" }]);
  });

  it("reports its rates at the cadence the choker asked for (on the runtime clock)", async () => {
    const clock = new ManualClock();
    const s = await seedWithChoker({ clock, reportMs: 2000 });
    const raw = await s.dial();
    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    send(raw, request(0, 0, 16384), request(1, 0, 16384));
    await raw.waitFor(() => raw.countOf("piece") === 2);
    await settle();
    // Served, but not reported yet: the choker still has the rates of the interest report.
    expect((await rows(s))[0]?.upRate).toBe(0);
    await advance(clock, 2000);
    expect((await rows(s))[0]?.upRate).toBeGreaterThan(0);
  });

  it("a choke with fast: every queued request is rejected (BEP 6), no block follows the choke", async () => {
    const s = await seedWithChoker({ maxReads: 1 });
    const raw = await s.dial();
    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    const mark = raw.received.length;
    const reqs = manyRequests();
    send(raw, ...reqs, { type: "notInterested" });
    const choke = await raw.waitType("choke", mark);
    const at = raw.received.indexOf(choke);
    // Every request gets exactly one answer: a piece before the choke, or a reject.
    await raw.waitFor(() => raw.received.slice(mark).filter((m) => m.type === "piece" || m.type === "reject").length === reqs.length);
    const after = raw.received.slice(at + 1);
    expect(after.filter((m) => m.type === "piece")).toEqual([]);
    expect(after.filter((m) => m.type === "reject").length).toBeGreaterThan(0);
  });

  it("a choke without fast: queued requests are dropped silently, no block follows the choke", async () => {
    const s = await seedWithChoker({ maxReads: 1 });
    const raw = await s.dial({ fast: false });
    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    const mark = raw.received.length;
    send(raw, ...manyRequests(), { type: "notInterested" });
    await raw.waitType("choke", mark);
    // Interested again: the unchoke that answers shows the link is fine, and nothing came
    // between the choke and it but silence (no piece, no reject).
    send(raw, { type: "interested" });
    await raw.waitType("unchoke", mark);
    const pieces = raw.received.slice(mark).filter((m) => m.type === "piece").length;
    expect(pieces).toBeLessThan(32);
    expect(raw.countOf("reject")).toBe(0);
    const chokeAt = raw.received.findIndex((m, i) => i >= mark && m.type === "choke");
    const unchokeAt = raw.received.findIndex((m, i) => i > chokeAt && m.type === "unchoke");
    expect(raw.received.slice(chokeAt + 1, unchokeAt).filter((m) => m.type === "piece")).toEqual([]);
  });

  it("with the regular and the optimistic slot taken a third peer waits; when a slot holder's link dies its slot is given at once", async () => {
    const s = await seedWithChoker({ uploadSlots: 1 });
    const a = await s.dial();
    const b = await s.dial();
    const c = await s.dial();
    send(a, { type: "interested" });
    await a.waitType("unchoke");
    send(b, { type: "interested" });
    await b.waitType("unchoke"); // the optimistic slot
    send(c, { type: "interested" });
    await until(async () => (await rows(s)).filter((r) => r.interested).length === 3);
    expect(c.countOf("unchoke")).toBe(0);
    a.destroy();
    await c.waitType("unchoke");
    expect(s.events.at(-1)?.cause).toBe("peerGone");
    await until(async () => (await rows(s)).length === 2);
  });
});
