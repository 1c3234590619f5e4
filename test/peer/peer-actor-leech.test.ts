/**
 * The peer actor as a downloader, against a scripted seed (RawPeer listening): what it
 * asks for and when, and what its clocks do (on a manual clock: no waiting).
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CallMsg, CastMsg, ManualClock, advance, type Pid } from "../../src/runtime/index.js";
import { encodeMessage, type WireMessage } from "../../src/protocol/wire/index.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { assembled, peerExitOf, startNode, torrentOf, until, type TorrentNode } from "./peerNode.js";
import { RawPeer } from "./rawPeer.js";

const PIECE = 32 * 1024;
const nodes: TorrentNode[] = [];
const servers: Server[] = [];
const raws: RawPeer[] = [];

afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
  for (const r of raws.splice(0)) r.destroy();
  for (const s of servers.splice(0)) s.close();
});

const send = (raw: RawPeer, ...msgs: WireMessage[]): void => raw.write(Buffer.concat(msgs.map(encodeMessage)));

async function setup(opts: { fast?: boolean; infoHash?: Buffer; clock?: ManualClock; answer?: boolean } = {}) {
  const data = randomBytes(PIECE * 8 - 700);
  const meta = torrentOf(data, PIECE);
  const node = await startNode({ meta, label: "leech", ...(opts.clock === undefined ? {} : { clock: opts.clock }) });
  nodes.push(node);
  const fast = opts.fast ?? true;
  const { server, port, peer } = await RawPeer.listen({
    infoHash: opts.infoHash ?? meta.infoHash,
    torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length },
    fast,
    extended: fast,
  });
  servers.push(server);
  const pid = (await node.connect(port)) as Pid;
  const raw = await peer;
  raws.push(raw);
  raw.answerHandshake = opts.answer ?? true;
  return { data, meta, node, raw, pid };
}

/** Serve every request the leecher makes from `data`. */
function serveAll(raw: RawPeer, meta: Metainfo, data: Buffer): void {
  raw.onMessage = (m) => {
    if (m.type !== "request") return;
    const at = m.index * meta.pieceLength + m.begin;
    send(raw, { type: "piece", index: m.index, begin: m.begin, block: data.subarray(at, at + m.length) });
  };
}

describe("peer actor as a leecher, over the wire", () => {
  it("says interested, requests only once unchoked, announces pieces, loses interest and closes when both are seeds", async () => {
    const { data, meta, node, raw } = await setup();
    await raw.waitType("haveNone"); // we have nothing, and both sides speak fast
    send(raw, { type: "haveAll" });
    await raw.waitType("interested");
    expect(raw.countOf("request")).toBe(0); // still choked
    serveAll(raw, meta, data);
    send(raw, { type: "unchoke" });
    await node.complete;
    expect(assembled(node, meta.pieceCount).equals(data)).toBe(true);
    await raw.closed;
    // HAVEs go out as pieces are written; once both ends are seeds the link closes, and
    // HAVEs still queued for a seed are pointless (chains of leechers are tested elsewhere).
    const haves = raw.received.filter((m) => m.type === "have").map((m) => (m.type === "have" ? m.index : -1));
    expect(haves.length).toBeGreaterThan(0);
    expect(new Set(haves).size).toBe(haves.length);
    expect(raw.countOf("notInterested")).toBe(1);
    expect(peerExitOf((await node.nextPeerExit(0)).reason)?.why).toBe("redundant");
    // Each block was asked for once.
    expect(raw.countOf("request")).toBe(Math.ceil(PIECE / 16384) * meta.pieceCount);
  });

  it("without fast, a choke voids our requests: the same blocks are asked again after the unchoke", async () => {
    const { meta, raw } = await setup({ fast: false });
    await raw.handshaken;
    send(raw, { type: "bitfield", bits: Buffer.from([0xff]) });
    await raw.waitType("interested");
    send(raw, { type: "unchoke" });
    await raw.waitType("request");
    const firstBatch = raw.received.length;
    const first = raw.received.filter((m) => m.type === "request");
    send(raw, { type: "choke" }, { type: "unchoke" });
    const again = await raw.waitType("request", firstBatch);
    expect(first).toContainEqual(again);
    expect(meta.pieceCount).toBe(8);
  });

  it("refuses a peer that answers with another info-hash", async () => {
    const { node } = await setup({ infoHash: randomBytes(20) });
    const exit = peerExitOf((await node.nextPeerExit(0)).reason);
    expect(exit).toMatchObject({ why: "handshakeRefused", detail: expect.stringMatching(/^wrongInfoHash/) });
    expect(node.state.counters.peersSeen).toBe(0);
  });
});

describe("peer actor clocks (manual clock, real sockets)", () => {
  it("a pick call that times out frees what it may have reserved and asks again; the link stays", async () => {
    const clock = new ManualClock();
    const data = randomBytes(PIECE * 4);
    const meta = torrentOf(data, PIECE);
    const node = await startNode({ meta, label: "leech", clock });
    nodes.push(node);
    // A piece manager that takes casts and never answers a pick.
    node.rt.exit(node.mgr, { kind: "kill" });
    const seen: string[] = [];
    node.rt.spawn(
      (msg) => {
        if (msg instanceof CastMsg) seen.push(`cast:${(msg.msg as { t: string }).t}`);
        if (msg instanceof CallMsg) seen.push(`call:${(msg.request as { t: string }).t}`);
      },
      { name: ["piece_mgr", meta.infoHashHex] },
    );
    const { server, port, peer } = await RawPeer.listen({ infoHash: meta.infoHash, torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length } });
    servers.push(server);
    await node.connect(port);
    const raw = await peer;
    raws.push(raw);
    raw.answerHandshake = true;
    await raw.handshaken;
    send(raw, { type: "haveAll" }, { type: "unchoke" });
    await raw.waitType("interested");
    await until(() => seen.includes("call:pick"));
    await advance(clock, 5_000, node.rt.scheduler);
    await until(() => seen.filter((x) => x === "call:pick").length === 2);
    const firstPick = seen.indexOf("call:pick");
    expect(seen.indexOf("cast:peerChoked", firstPick)).toBeGreaterThan(firstPick);
    expect(seen.lastIndexOf("call:pick")).toBeGreaterThan(seen.indexOf("cast:peerChoked", firstPick));
    expect(node.peerExits).toEqual([]);
  });

  it("times out a handshake that never comes", async () => {
    const clock = new ManualClock();
    const { node, raw } = await setup({ clock, answer: false });
    await advance(clock, 10_000, node.rt.scheduler);
    expect(peerExitOf((await node.nextPeerExit(0)).reason)?.why).toBe("handshakeTimeout");
    await raw.closed;
  });

  it("sends keep-alives while idle, cancels and frees the blocks of a peer that sits on its requests, and closes a silent link", async () => {
    const clock = new ManualClock();
    const { node, raw } = await setup({ clock });
    await raw.waitType("haveNone");
    send(raw, { type: "haveAll" }, { type: "unchoke" });
    await raw.waitType("request");
    const before = raw.received.length;
    const outstanding = raw.received.filter((m) => m.type === "request").length;

    await advance(clock, 60_000, node.rt.scheduler); // no block for 60 s: snubbed
    await raw.waitFor(() => raw.countOf("cancel") === outstanding);
    const after = await raw.waitType("request", before); // one request at a time now
    expect(after.type).toBe("request");
    expect(await raw.waitType("keepAlive", before)).toEqual({ type: "keepAlive" });

    await advance(clock, 240_000, node.rt.scheduler); // 300 s without a byte from the peer
    await raw.closed;
    expect(peerExitOf((await node.nextPeerExit(0)).reason)).toMatchObject({ why: "inactive" });
    expect(node.crashes).toEqual([]);
  });
});
