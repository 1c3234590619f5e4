/**
 * The listener: handshake reading, routing to a torrent's peer pool, and its limits under
 * bad and abundant input.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, advance, type Pid } from "../../src/runtime/index.js";
import { encodeHandshake, encodeMessage } from "../../src/protocol/wire/index.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { listenerStats, startListener, type ListenerStats } from "../../actors/listener.js";
import { peerExitOf, startNode, torrentOf, until, type TorrentNode } from "./peerNode.js";
import { RawPeer } from "./rawPeer.js";

const PIECE = 32 * 1024;
const nodes: TorrentNode[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
  for (const s of sockets.splice(0)) s.destroy();
});

async function seed(options: { clock?: ManualClock; maxPending?: number } = {}): Promise<{ node: TorrentNode; meta: Metainfo; data: Buffer }> {
  const data = randomBytes(PIECE * 4);
  const meta = torrentOf(data, PIECE);
  const node = await startNode({ meta, seedData: data, listen: true, label: "seed", ...options });
  nodes.push(node);
  return { node, meta, data };
}

function stats(node: TorrentNode): Promise<ListenerStats> {
  return listenerStats(node.rt, node.listener as Pid);
}

async function open(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: "127.0.0.1", port });
  sockets.push(socket);
  socket.on("error", () => undefined);
  socket.on("data", () => undefined);
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  return { socket, closed };
}

function handshakeFor(infoHash: Buffer): Buffer {
  return encodeHandshake({ infoHash, peerId: randomBytes(20), fast: true, extended: true, dht: false });
}

async function servedAfterwards(node: TorrentNode, meta: Metainfo, data: Buffer): Promise<void> {
  const raw = await RawPeer.dial(node.port!, { infoHash: meta.infoHash, torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length } });
  sockets.push(raw.socket);
  raw.write(Buffer.concat([encodeMessage({ type: "interested" })]));
  await raw.waitType("unchoke");
  raw.write(encodeMessage({ type: "request", index: 2, begin: 0, length: 1000 }));
  const piece = await raw.waitType("piece");
  expect(piece.block.equals(data.subarray(2 * PIECE, 2 * PIECE + 1000))).toBe(true);
}

describe("listener", () => {
  it("binds only the host it is given and reports the port it picked", async () => {
    const { node } = await seed();
    expect(node.port).toBeGreaterThan(0);
    // Another loopback address of this machine is not bound.
    const elsewhere = connect({ host: "127.0.0.2", port: node.port! });
    const refused = await new Promise<string>((resolve) => {
      elsewhere.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      elsewhere.once("connect", () => resolve("connected"));
    });
    elsewhere.destroy();
    expect(refused).toBe("ECONNREFUSED");
    await expect(startListener({ host: "127.0.0.1", port: node.port!, runtime: node.rt, name: "second" })).rejects.toMatchObject({ code: "start_failed" });
  });

  it("closes a connection at its first byte of garbage, and keeps accepting", async () => {
    const { node, meta, data } = await seed();
    const { socket, closed } = await open(node.port!);
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await closed;
    expect(await stats(node)).toMatchObject({ garbage: 1, pending: 0 });
    await servedAfterwards(node, meta, data);
  });

  it("closes a connection for a torrent it does not serve", async () => {
    const { node } = await seed();
    const { socket, closed } = await open(node.port!);
    socket.write(handshakeFor(randomBytes(20)));
    await closed;
    expect(await stats(node)).toMatchObject({ unknownTorrent: 1, handedOver: 0, pending: 0 });
  });

  it("hands over a handshake that came one byte at a time, with the message that followed it", async () => {
    const { node, meta } = await seed();
    const { socket } = await open(node.port!);
    const bytes = Buffer.concat([handshakeFor(meta.infoHash), encodeMessage({ type: "interested" })]);
    const got: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => got.push(chunk));
    for (let i = 0; i < 68; i++) socket.write(bytes.subarray(i, i + 1));
    socket.write(bytes.subarray(68)); // interested, right behind the handshake
    await until(async () => (await stats(node)).handedOver === 1);
    // The seed answers handshake, have-all, extended handshake, then unchoke (the interested arrived).
    await until(async () => Buffer.concat(got).includes(encodeMessage({ type: "unchoke" })));
    expect(node.state.counters.peersSeen).toBe(1);
  });

  it("refuses a banned host once its handshake is in", async () => {
    const { node, meta } = await seed();
    node.state.banned.add("127.0.0.1");
    const { socket, closed } = await open(node.port!);
    socket.write(handshakeFor(meta.infoHash));
    await closed;
    expect(peerExitOf((await node.nextPeerExit(0)).reason)).toMatchObject({ why: "handshakeRefused", detail: expect.stringMatching(/^banned/) });
  });

  it("times out a silent connection (manual clock)", async () => {
    const clock = new ManualClock();
    const { node } = await seed({ clock });
    const { socket, closed } = await open(node.port!);
    socket.write(Buffer.from("\x13BitTorrent"));
    await until(async () => (await stats(node)).pending === 1);
    await advance(clock, 9_999, node.rt.scheduler);
    expect((await stats(node)).pending).toBe(1);
    await advance(clock, 1, node.rt.scheduler);
    await closed;
    expect(await stats(node)).toMatchObject({ timedOut: 1, pending: 0 });
  });

  it("closes connections beyond maxPending at once", async () => {
    const { node } = await seed({ maxPending: 3 });
    for (let i = 0; i < 3; i++) await open(node.port!);
    await until(async () => (await stats(node)).pending === 3);
    const extra = await open(node.port!);
    await extra.closed;
    expect(await stats(node)).toMatchObject({ refusedBusy: 1, pending: 3 });
  });

  it("200 garbage connections: each closed, nothing kept, memory flat, still serving", async () => {
    const { node, meta, data } = await seed();
    const listener = node.listener as Pid;
    const baseline = node.rt.info(listener);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const { socket, closed } = await open(node.port!);
          // Half send noise at once, half a valid prefix and then noise.
          socket.write(i % 2 === 0 ? randomBytes(200) : Buffer.concat([Buffer.from("\x13BitTorrent proto"), randomBytes(100)]));
          await closed;
        }),
      );
      sockets.length = 0;
    }
    const after = await stats(node);
    expect(after.garbage).toBe(200);
    expect(after.pending).toBe(0);
    const info = node.rt.info(listener);
    expect(info?.resources).toBe(baseline?.resources); // the server only: no socket kept
    expect(info?.timers).toBe(0);
    gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
    expect(node.crashes).toEqual([]);
    await servedAfterwards(node, meta, data);
  });
});
