/**
 * The peer actor seen from the wire: a scripted remote peer (RawPeer) talks to a node's
 * listener or is dialled by it, and checks what our actor sends and when it closes.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessage, type WireMessage } from "../../src/protocol/wire/index.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { peerExitOf, startNode, torrentOf, type TorrentNode } from "./peerNode.js";
import { RawPeer } from "./rawPeer.js";
import { BACKLOG_PAUSE, INBOUND_HIGH_WATER } from "../../actors/peer/socketIo.js";

const PIECE = 32 * 1024;
const nodes: TorrentNode[] = [];
const raws: RawPeer[] = [];

afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
  for (const r of raws.splice(0)) r.destroy();
});

async function seedNode(options: { uploadQueueBound?: number; holdReads?: boolean } = {}): Promise<{ node: TorrentNode; data: Buffer; meta: Metainfo }> {
  const data = randomBytes(PIECE * 6 - 500);
  const meta = torrentOf(data, PIECE);
  const { holdReads = false, ...peerOptions } = options;
  const node = await startNode({ meta, seedData: data, listen: true, label: "seed", peerOptions, holdReads });
  nodes.push(node);
  return { node, data, meta };
}

function context(meta: Metainfo) {
  return { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length };
}

async function dial(node: TorrentNode, meta: Metainfo, opts: { fast?: boolean; extended?: boolean } = {}): Promise<RawPeer> {
  const raw = await RawPeer.dial(node.port!, { infoHash: meta.infoHash, torrent: context(meta), ...opts });
  raws.push(raw);
  return raw;
}

const send = (raw: RawPeer, ...msgs: WireMessage[]): void => raw.write(Buffer.concat(msgs.map(encodeMessage)));
const request = (index: number, begin: number, length: number): WireMessage => ({ type: "request", index, begin, length });

/** A seed holding its reads, a raw peer it unchoked, and the peer's two back-to-back requests for `piece` in flight as one held read. */
async function heldBatch(piece: number): Promise<{ node: TorrentNode; data: Buffer; raw: RawPeer }> {
  const { node, data, meta } = await seedNode({ holdReads: true });
  const raw = await dial(node, meta);
  send(raw, { type: "interested" });
  await raw.waitType("unchoke");
  send(raw, request(piece, 0, 16384), request(piece, 16384, 16384));
  await node.readsAsked(1);
  expect(node.reads).toEqual([{ piece, begin: 0, length: PIECE }]); // one read of both (takeReadBatch)
  return { node, data, raw };
}

/** Ask for a marker block and wait for it: anything still due for earlier requests is sent before it. */
async function marker(node: TorrentNode, raw: RawPeer, piece: number, readsSoFar: number): Promise<void> {
  send(raw, request(piece, 0, 16384));
  await node.readsAsked(readsSoFar + 1);
  node.releaseReads();
  await raw.waitFor((m) => m.type === "piece" && m.index === piece);
}

describe("peer actor as a seed, over the wire", () => {
  it("answers with have-all and an extended handshake (reqq), unchokes an interested peer and serves the right bytes", async () => {
    const { node, data, meta } = await seedNode();
    const raw = await dial(node, meta);
    await raw.waitType("haveAll");
    const ext = await raw.waitType("extendedHandshake");
    expect(ext.handshake.requestQueue).toBe(250);
    expect(raw.handshake?.fast).toBe(true);
    expect(raw.handshake?.extended).toBe(true);
    expect(raw.handshake?.peerId.subarray(0, 8).toString("latin1")).toBe("-SS0100-");

    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    const last = meta.pieceCount - 1;
    const lastLen = meta.length - last * PIECE;
    const tail = lastLen - 16384; // the last block of the last piece is short
    send(raw, request(0, 0, 16384), request(1, 16384, 16384), request(last, 16384, tail));
    const got = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) {
      const m = await raw.waitFor((x) => x.type === "piece" && !got.has(`${x.index}/${x.begin}`));
      if (m.type === "piece") got.set(`${m.index}/${m.begin}`, m.block);
    }
    expect(got.get("0/0")?.equals(data.subarray(0, 16384))).toBe(true);
    expect(got.get("1/16384")?.equals(data.subarray(PIECE + 16384, PIECE + 32768))).toBe(true);
    expect(got.get(`${last}/16384`)?.equals(data.subarray(last * PIECE + 16384))).toBe(true);
    expect(node.state.counters.uploaded).toBe(2 * 16384 + tail);

    send(raw, { type: "notInterested" });
    await raw.waitType("choke");
  });

  it("without the fast extension sends a bitfield and says nothing to a request while choking", async () => {
    const { node, meta } = await seedNode();
    const raw = await dial(node, meta, { fast: false, extended: false });
    const bits = await raw.waitType("bitfield");
    expect(bits.bits.length).toBe(Math.ceil(meta.pieceCount / 8));
    send(raw, request(0, 0, 16384), { type: "interested" });
    await raw.waitType("unchoke");
    send(raw, request(2, 0, 16384));
    const piece = await raw.waitType("piece");
    expect([piece.index, piece.begin]).toEqual([2, 0]); // the request made while choked was dropped
    expect(raw.countOf("haveAll") + raw.countOf("extendedHandshake")).toBe(0);
  });

  it("rejects (BEP 6) a request while choking and the requests past its queue bound", async () => {
    const { node, meta } = await seedNode({ uploadQueueBound: 3 });
    const raw = await dial(node, meta);
    send(raw, request(0, 0, 16384));
    const early = await raw.waitType("reject");
    expect([early.index, early.begin, early.length]).toEqual([0, 0, 16384]);
    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    // Eight requests in one write: three fit the queue, five are rejected.
    const reqs = [0, 1, 2, 3].flatMap((i) => [request(i, 0, 16384), request(i, 16384, 16384)]);
    send(raw, ...reqs);
    const rejectsBefore = raw.countOf("reject");
    await raw.waitFor(() => raw.countOf("reject") - rejectsBefore === 5 && raw.countOf("piece") === 3);
    expect(node.peerExits).toEqual([]);
  });

  it("without fast, a request past the queue bound ends the link (we advertised the bound)", async () => {
    const { node, meta } = await seedNode({ uploadQueueBound: 2 });
    const raw = await dial(node, meta, { fast: false });
    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    send(raw, request(0, 0, 16384), request(0, 16384, 16384), request(1, 0, 16384));
    await raw.closed;
    expect(peerExitOf((await node.nextPeerExit(0)).reason)?.why).toBe("uploadQueueOverflow");
  });

  it("a cancel before the block is read drops it (with fast: answered by a reject)", async () => {
    const { node, meta } = await seedNode();
    const raw = await dial(node, meta);
    send(raw, { type: "interested" });
    await raw.waitType("unchoke");
    send(raw, request(3, 0, 16384), { type: "cancel", index: 3, begin: 0, length: 16384 }, request(4, 0, 16384));
    const reject = await raw.waitType("reject");
    expect([reject.index, reject.begin]).toEqual([3, 0]);
    const piece = await raw.waitType("piece");
    expect(piece.index).toBe(4);
    expect(raw.received.filter((m) => m.type === "piece" && m.index === 3)).toEqual([]);
  });
  it("a cancel that arrives while its block's batch is being read drops that block only; asked again, it is sent once", async () => {
    const { node, data, raw } = await heldBatch(2);
    send(raw, { type: "cancel", index: 2, begin: 16384, length: 16384 });
    const reject = await raw.waitType("reject"); // the cancel was handled while the read is held
    expect([reject.index, reject.begin]).toEqual([2, 16384]);
    node.releaseReads();
    const first = await raw.waitType("piece");
    expect([first.index, first.begin]).toEqual([2, 0]);
    expect(first.block.equals(data.subarray(2 * PIECE, 2 * PIECE + 16384))).toBe(true);

    send(raw, request(2, 16384, 16384));
    await node.readsAsked(2);
    expect(node.reads[1]).toEqual({ piece: 2, begin: 16384, length: 16384 });
    node.releaseReads();
    const again = await raw.waitFor((m) => m.type === "piece" && m.begin === 16384);
    expect(again.type === "piece" && again.block.equals(data.subarray(2 * PIECE + 16384, 3 * PIECE))).toBe(true);
    await marker(node, raw, 3, 2);
    expect(raw.received.filter((m) => m.type === "piece" && m.index === 2).map((m) => (m.type === "piece" ? m.begin : -1))).toEqual([0, 16384]);
    expect(node.state.counters.uploaded).toBe(3 * 16384);
  });

  it("a choke while a batch is being read sends none of it", async () => {
    const { node, raw } = await heldBatch(1);
    const beforeChoke = raw.received.length;
    send(raw, { type: "notInterested" }); // the choker-less policy chokes a peer that lost interest
    await raw.waitType("choke", beforeChoke);
    await raw.waitFor((m) => m.type === "reject" && m.begin === 16384);
    expect(raw.received.filter((m) => m.type === "reject").map((m) => (m.type === "reject" ? [m.index, m.begin] : []))).toEqual([[1, 0], [1, 16384]]);
    node.releaseReads();
    // Interested again: unchoked, and a new request is answered; nothing of the held batch was sent before it.
    send(raw, { type: "interested" });
    await raw.waitType("unchoke", raw.received.length);
    await marker(node, raw, 4, 1);
    expect(raw.received.filter((m) => m.type === "piece").map((m) => (m.type === "piece" ? m.index : -1))).toEqual([4]);
    expect(node.state.counters.uploaded).toBe(16384);
  });

  it("a block cancelled and asked again while its first batch is still being read is sent once", async () => {
    const { node, data, raw } = await heldBatch(2);
    // Cancel and ask again before the batch's read returns: the request is queued once more,
    // so the held batch may serve it, and then the second read must not send it again.
    send(raw, { type: "cancel", index: 2, begin: 16384, length: 16384 }, request(2, 16384, 16384));
    await node.readsAsked(2);
    expect(node.reads[1]).toEqual({ piece: 2, begin: 16384, length: 16384 });
    node.releaseReads();
    await raw.waitFor((m) => m.type === "piece" && m.begin === 16384);
    await marker(node, raw, 3, 2);
    const sent = raw.received.filter((m) => m.type === "piece" && m.index === 2);
    expect(sent.map((m) => (m.type === "piece" ? m.begin : -1)).sort((a, b) => a - b)).toEqual([0, 16384]);
    const block = sent.find((m) => m.type === "piece" && m.begin === 16384);
    expect(block?.type === "piece" && block.block.equals(data.subarray(2 * PIECE + 16384, 3 * PIECE))).toBe(true);
    expect(node.state.counters.uploaded).toBe(3 * 16384);
  });
});

describe("peer actor: input larger than a turn", () => {
  it("a burst of 20000 messages in one write is handled over several turns, in order", async () => {
    const data = randomBytes(PIECE * 2);
    const meta = torrentOf(data, PIECE);
    const node = await startNode({ meta, seedData: data, listen: true, label: "seed", peerOptions: { turnBudget: 64 } });
    nodes.push(node);
    const raw = await dial(node, meta);
    await raw.waitType("haveAll");
    const keepAlives = Buffer.alloc(4 * 20_000); // 20000 keep-alives
    raw.write(Buffer.concat([keepAlives, encodeMessage({ type: "interested" }), encodeMessage(request(1, 0, 10))]));
    const piece = await raw.waitType("piece");
    expect(piece.block.equals(data.subarray(PIECE, PIECE + 10))).toBe(true);
    expect(node.peerExits).toEqual([]);
  });
});

describe("peer actor: a peer that makes us answer and does not read", () => {
  it("stops reading it once our unsent answers pass the bound, and catches up when it reads", async () => {
    const { node, meta } = await seedNode();
    const raw = await dial(node, meta);
    await raw.waitType("haveAll");
    raw.uncounted.add("reject");
    raw.socket.pause(); // read nothing from now on
    // 1M requests while choked: each earns a BEP 6 reject, 17 MB of them (more than the
    // kernel's socket buffers take), then an interested.
    const one = encodeMessage(request(0, 0, 16384));
    const flood = Buffer.alloc(one.length * 1_000_000);
    for (let at = 0; at < flood.length; at += one.length) one.copy(flood, at);
    raw.write(Buffer.concat([flood, encodeMessage({ type: "interested" })]));
    const pid = node.rt.whereis(["peer", meta.infoHashHex, `127.0.0.1:${raw.socket.localPort}`]);
    expect(pid).toBeDefined();
    type Conn = { sock: { socket: import("node:net").Socket; outbox: { pending: number } } };
    const probe = async (): Promise<{ read: number; owed: number }> => {
      const conn = await node.rt.getState<Conn>(pid!);
      return { read: conn.sock.socket.bytesRead, owed: conn.sock.socket.writableLength + conn.sock.outbox.pending };
    };
    // Watch until our side stops reading (bytesRead unchanged for 300 event-loop turns).
    let last = -1;
    let most = 0;
    for (let turns = 0, still = 0; turns < 200_000 && still < 300; turns++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const now = await probe();
      most = Math.max(most, now.owed);
      if (now.read === last) still++;
      else [still, last] = [0, now.read];
    }
    // It stopped before the end of the flood, owing at most the pause threshold plus the
    // answers to the input already in its mailbox when it paused: up to INBOUND_HIGH_WATER
    // and one more chunk (a reject is as long as the request it answers).
    expect(most).toBeLessThan(BACKLOG_PAUSE + INBOUND_HIGH_WATER + 64 * 1024);
    expect(last).toBeLessThan(flood.length);
    raw.socket.resume();
    await raw.waitType("unchoke");
    expect(raw.tally.get("reject")).toBe(1_000_000);
    expect(node.peerExits).toEqual([]);
  });
});

describe("peer actor: bad input on an established link closes that link only", () => {
  const cases: { name: string; bytes: (meta: Metainfo) => Buffer; violation: string }[] = [
    { name: "an oversized length prefix", bytes: () => Buffer.from([0xff, 0xff, 0xff, 0xf0, 7]), violation: "oversizedLength" },
    {
      name: "a bitfield of the wrong size",
      bytes: (meta) => encodeMessage({ type: "bitfield", bits: Buffer.alloc(Math.ceil(meta.pieceCount / 8) + 3, 0xff) }),
      violation: "badBitfieldLength",
    },
    { name: "a request for a piece past the end", bytes: (meta) => encodeMessage(request(meta.pieceCount, 0, 16384)), violation: "indexOutOfRange" },
    { name: "a request running past its piece", bytes: () => encodeMessage(request(0, PIECE - 100, 16384)), violation: "offsetOutOfRange" },
    { name: "an unknown message id", bytes: () => Buffer.from([0, 0, 0, 1, 99]), violation: "unknownMessageId" },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.violation}`, async () => {
      const { node, meta, data } = await seedNode();
      const bad = await dial(node, meta);
      await bad.waitType("haveAll");
      bad.write(c.bytes(meta));
      await bad.closed;
      const exit = peerExitOf((await node.nextPeerExit(0)).reason);
      expect(exit).toMatchObject({ why: "violation", violation: c.violation });
      expect(node.crashes).toEqual([]);
      // The node lives: the listener accepts and a well-behaved peer is served.
      const good = await dial(node, meta);
      send(good, { type: "interested" });
      await good.waitType("unchoke");
      send(good, request(1, 0, 100));
      const piece = await good.waitType("piece");
      expect(piece.block.equals(data.subarray(PIECE, PIECE + 100))).toBe(true);
    });
  }

  it("a second bitfield after the first message ends the link (bitfieldNotFirst)", async () => {
    const { node, meta } = await seedNode();
    const raw = await dial(node, meta);
    send(raw, { type: "haveNone" }, { type: "haveNone" });
    await raw.closed;
    expect(peerExitOf((await node.nextPeerExit(0)).reason)?.why).toBe("bitfieldNotFirst");
  });
});
