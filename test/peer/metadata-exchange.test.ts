/**
 * BEP 9 end to end over loopback: our peer actor serving the info dictionary, the
 * metadata_fetch actor getting it (from our own seed and from scripted peers that lie,
 * refuse or stay silent), and the framer that keeps a metadata link's memory bounded.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Runtime, type Pid } from "../../src/runtime/index.js";
import {
  HandshakeParser,
  encodeExtended,
  encodeExtendedHandshakePayload,
  encodeHandshake,
  encodeMessage,
  type WireMessage,
} from "../../src/protocol/wire/index.js";
import { METADATA_PIECE_BYTES, MAX_METADATA_BYTES, encodeMetadataData, encodeMetadataReject, encodeMetadataRequest, parseMetadataMessage } from "../../src/protocol/wire/metadata.js";
import { metadataFetchBehaviour, type MetadataFetched, type MetadataFetchStatus } from "../../actors/metadataFetch.js";
import { startServer } from "../../src/runtime/index.js";
import { ExtendedFrames } from "../../actors/metadataFetch/frames.js";
import { METADATA_SERVE_BACKLOG, UT_METADATA_ID, answerMetadata, metadataOffer } from "../../actors/peer/metadataServe.js";
import { judgeMessage, judgeOffer } from "../../actors/metadataFetch/analyze.js";
import { startNode, torrentOf, until, type TorrentNode } from "./peerNode.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { RawPeer } from "./rawPeer.js";
import { BACKLOG_PAUSE, INBOUND_HIGH_WATER } from "../../actors/peer/socketIo.js";

const nodes: TorrentNode[] = [];
const servers: Server[] = [];
const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.stop();
  for (const rt of runtimes.splice(0)) for (const pid of rt.pids()) rt.exit(pid, { kind: "kill" });
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** Our seed of `data` on a listener, and a raw peer (fast + extended) that dialled it. */
async function seedAndDial(data: Buffer, meta: Metainfo): Promise<{ node: TorrentNode; raw: RawPeer }> {
  const node = await startNode({ meta, seedData: data, listen: true, label: "seed" });
  nodes.push(node);
  const raw = await RawPeer.dial(node.port!, { infoHash: meta.infoHash, extended: true, torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length } });
  return { node, raw };
}

/** A payload whose info dictionary spans several 16 KiB metadata pieces (20 bytes of SHA-1 per piece). */
function bigTorrent(): { data: Buffer; meta: ReturnType<typeof torrentOf> } {
  const data = randomBytes(2000 * 1024);
  return { data, meta: torrentOf(data, 1024) };
}

describe("framer of a metadata link", () => {
  it("yields exactly the extended messages, however the stream is cut, and keeps no skipped bytes", () => {
    const msg = fc.oneof(
      fc.record({ ext: fc.constant(true), id: fc.integer({ min: 0, max: 255 }), body: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({ ext: fc.constant(false), id: fc.integer({ min: 0, max: 19 }), body: fc.uint8Array({ maxLength: 3000 }) }),
      fc.record({ ext: fc.constant(false), id: fc.constant(-1), body: fc.constant(new Uint8Array(0)) }), // keep-alive
    );
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 50 }), (msgs, cuts) => {
        // Cuts of 1..700 bytes: every header, keep-alive and body boundary is split somewhere.
        const wire = Buffer.concat(msgs.map((m) => (m.ext ? encodeExtended(m.id, m.body) : m.id < 0 ? Buffer.alloc(4) : frame(m.id, m.body))));
        const frames = new ExtendedFrames();
        const got: { extId: number; payload: string }[] = [];
        for (let at = 0, i = 0; at < wire.length; i++) {
          const n = cuts[i % cuts.length] as number;
          for (const out of frames.push(wire.subarray(at, at + n))) {
            expect(out.type).toBe("extended");
            if (out.type === "extended") got.push({ extId: out.extId, payload: out.payload.toString("hex") });
          }
          at += n;
        }
        expect(got).toEqual(msgs.filter((m) => m.ext).map((m) => ({ extId: m.id, payload: Buffer.from(m.body).toString("hex") })));
      }),
    );
  });

  it("copies a message dripped a byte at a time once (linear, not quadratic)", () => {
    const wire = encodeExtended(3, Buffer.alloc(60_000, 1));
    const frames = new ExtendedFrames();
    const got = [];
    for (let i = 0; i < wire.length; i++) got.push(...frames.push(wire.subarray(i, i + 1)));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: "extended", extId: 3 });
  });

  it("refuses an extended message longer than the limit before buffering it", () => {
    const head = Buffer.alloc(6);
    head.writeUInt32BE(10_000_000, 0);
    head[4] = 20;
    expect(new ExtendedFrames().push(head)).toEqual([{ type: "violation", detail: expect.stringContaining("10000000") }]);
  });
});

function frame(id: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = id;
  out.set(body, 5);
  return out;
}

describe("pure decisions", () => {
  const handshake = (m: [string, number][], metadataSize?: number) => ({ extensions: new Map(m), metadataSize, listenPort: undefined, client: undefined, yourIp: undefined, requestQueue: undefined });
  it("judgeOffer: fetch only from a peer with an ut_metadata id and a size we accept", () => {
    expect(judgeOffer(handshake([["ut_metadata", 3]], 5000))).toEqual({ kind: "fetch", theirId: 3, totalSize: 5000 });
    expect(judgeOffer(handshake([["ut_metadata", 0]], 5000))).toMatchObject({ kind: "giveUp", why: "noMetadataExtension" });
    expect(judgeOffer(handshake([], 5000))).toMatchObject({ kind: "giveUp", why: "noMetadataExtension" });
    expect(judgeOffer(handshake([["ut_metadata", 3]]))).toMatchObject({ kind: "giveUp", why: "noMetadataExtension" });
    expect(judgeOffer(handshake([["ut_metadata", 3]], MAX_METADATA_BYTES + 1))).toMatchObject({ kind: "giveUp", why: "badMetadataSize" });
  });

  it("judgeMessage: data is stored, a request refused, a reject or garbage drops the peer, an unknown type is ignored (BEP 9)", () => {
    const data = Buffer.alloc(100, 7);
    expect(judgeMessage(parseMetadataMessage(encodeMetadataData(0, 100, data)))).toMatchObject({ kind: "store", piece: 0, totalSize: 100 });
    expect(judgeMessage(parseMetadataMessage(encodeMetadataRequest(4)))).toEqual({ kind: "refuse", piece: 4 });
    expect(judgeMessage(parseMetadataMessage(encodeMetadataReject(1)))).toMatchObject({ kind: "giveUp", why: "rejected" });
    expect(judgeMessage(parseMetadataMessage(Buffer.from("x")))).toMatchObject({ kind: "giveUp", why: "badMessage" });
    expect(judgeMessage(parseMetadataMessage(Buffer.from("d8:msg_typei9ee")))).toEqual({ kind: "ignore" });
  });

  it("answerMetadata: a piece that exists is sent, one that does not is rejected, the rest ignored", () => {
    const size = 2 * METADATA_PIECE_BYTES + 5;
    const c = { offer: { kind: "offer", size } as const, theirId: 7, backlog: 0 };
    const ask = (piece: number) => parseMetadataMessage(encodeMetadataRequest(piece));
    expect(answerMetadata(ask(2), c)).toEqual({ kind: "send", piece: 2, theirId: 7 });
    expect(answerMetadata(ask(3), c)).toEqual({ kind: "reject", piece: 3, theirId: 7, why: "noSuchPiece" });
    expect(answerMetadata(ask(0), { ...c, theirId: undefined })).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(ask(0), { ...c, theirId: 0 })).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(parseMetadataMessage(encodeMetadataReject(0)), c)).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(parseMetadataMessage(Buffer.from("garbage")), c)).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(parseMetadataMessage(Buffer.from("d8:msg_typei5e5:piecei0ee")), c)).toMatchObject({ kind: "ignore" });
  });

  it("answerMetadata: past the backlog bound a request is rejected (busy), and nothing is served without an offer", () => {
    const offer = { kind: "offer", size: 100 } as const;
    const ask = parseMetadataMessage(encodeMetadataRequest(0));
    expect(answerMetadata(ask, { offer, theirId: 7, backlog: METADATA_SERVE_BACKLOG })).toMatchObject({ kind: "send" });
    expect(answerMetadata(ask, { offer, theirId: 7, backlog: METADATA_SERVE_BACKLOG + 1 })).toEqual({ kind: "reject", piece: 0, theirId: 7, why: "busy" });
    const none = metadataOffer({ private: true, infoBytes: Buffer.alloc(100) });
    expect(none).toMatchObject({ kind: "none", why: "private" });
    expect(answerMetadata(ask, { offer: none, theirId: 7, backlog: 0 })).toMatchObject({ kind: "ignore" });
  });

  it("metadataOffer: the info dictionary's size, unless private or larger than a fetcher takes", () => {
    expect(metadataOffer({ private: false, infoBytes: Buffer.alloc(MAX_METADATA_BYTES) })).toEqual({ kind: "offer", size: MAX_METADATA_BYTES });
    expect(metadataOffer({ private: false, infoBytes: Buffer.alloc(MAX_METADATA_BYTES + 1) })).toMatchObject({ kind: "none", why: "tooLarge" });
  });
});

describe("our peer actor serves its metadata (BEP 9)", () => {
  it("announces ut_metadata with metadata_size, answers each piece with the original info bytes, rejects a piece past the end", async () => {
    const { data, meta } = bigTorrent();
    const { node, raw } = await seedAndDial(data, meta);
    const theirs = await raw.waitType("extendedHandshake");
    expect(theirs.handshake.metadataSize).toBe(meta.infoBytes.length);
    const ourId = theirs.handshake.extensions.get("ut_metadata");
    expect(ourId).toBe(UT_METADATA_ID);
    raw.write(encodeExtended(0, encodeExtendedHandshakePayload({ extensions: new Map([["ut_metadata", 9]]) })));
    const pieces = Math.ceil(meta.infoBytes.length / METADATA_PIECE_BYTES);
    expect(pieces).toBeGreaterThan(1);
    for (let p = 0; p <= pieces; p++) raw.write(encodeExtended(UT_METADATA_ID, encodeMetadataRequest(p)));
    const got: Buffer[] = [];
    let from = 0;
    for (let p = 0; p <= pieces; p++) {
      const m = await raw.waitFor((x) => x.type === "extended", from);
      from = raw.received.indexOf(m) + 1;
      if (m.type !== "extended") throw new Error("unreachable");
      expect(m.extId).toBe(9);
      const parsed = parseMetadataMessage(m.payload);
      if (parsed.type !== "ok") throw new Error(JSON.stringify(parsed));
      if (p < pieces) {
        expect(parsed.message).toMatchObject({ type: "data", piece: p, totalSize: meta.infoBytes.length });
        if (parsed.message.type === "data") got.push(Buffer.from(parsed.message.data));
      } else {
        expect(parsed.message).toEqual({ type: "reject", piece: pieces });
      }
    }
    expect(Buffer.concat(got).equals(meta.infoBytes)).toBe(true);
    raw.destroy();
  });
});

describe("our peer actor and a private torrent", () => {
  it("offers no metadata (BEP 27: its peers get the .torrent from its tracker), as libtorrent does", async () => {
    const data = randomBytes(64 * 1024);
    const meta = torrentOf(data, 16 * 1024, { private: true });
    expect(meta.private).toBe(true);
    const { node, raw } = await seedAndDial(data, meta);
    const theirs = await raw.waitType("extendedHandshake");
    expect(theirs.handshake.extensions.has("ut_metadata")).toBe(false);
    expect(theirs.handshake.metadataSize).toBeUndefined();
    raw.destroy();
  });
});

describe("our peer actor: a magnet peer that asks for metadata and does not read", () => {
  it("answers while it owes less than the bound, rejects (busy) past it, and stops reading it, so what it owes stays bounded", async () => {
    const { data, meta } = bigTorrent();
    const { node, raw } = await seedAndDial(data, meta);
    await raw.waitType("extendedHandshake");
    raw.uncounted.add("extended"); // counted by onMessage below, never kept
    raw.write(encodeExtended(0, encodeExtendedHandshakePayload({ extensions: new Map([["ut_metadata", 9]]) })));
    raw.socket.pause(); // read nothing from now on
    const asks = 20_000; // ~0.7 MB of requests; answered in full they would be 320 MB
    const one = encodeExtended(UT_METADATA_ID, encodeMetadataRequest(0));
    raw.write(Buffer.concat(Array.from({ length: asks }, () => one)));
    const pid = node.rt.whereis(["peer", meta.infoHashHex, `127.0.0.1:${raw.socket.localPort}`]);
    expect(pid).toBeDefined();
    type Conn = { sock: { socket: import("node:net").Socket; outbox: { pending: number } } };
    let last = -1;
    let most = 0;
    for (let turns = 0, still = 0; still < 300; turns++) {
      expect(turns).toBeLessThan(200_000);
      await new Promise<void>((resolve) => setImmediate(resolve));
      const conn = await node.rt.getState<Conn>(pid!);
      most = Math.max(most, conn.sock.socket.writableLength + conn.sock.outbox.pending);
      if (conn.sock.socket.bytesRead === last) still++;
      else [still, last] = [0, conn.sock.socket.bytesRead];
    }
    // Answers stop at METADATA_SERVE_BACKLOG (plus the one that crossed it); rejects are no
    // longer than the requests they answer, and reading stops at BACKLOG_PAUSE plus what
    // was already in the mailbox (as for any answers: peer-actor-wire.test.ts).
    expect(most).toBeLessThan(BACKLOG_PAUSE + INBOUND_HIGH_WATER + 64 * 1024);
    // Count the answers as they come (a data answer is 16 KiB: none is kept).
    let answered = 0;
    let busy = 0;
    const allAnswered = new Promise<void>((resolve) => {
      raw.onMessage = (m) => {
        const parsed = m.type === "extended" ? parseMetadataMessage(m.payload) : undefined;
        if (parsed?.type !== "ok") return;
        if (parsed.message.type === "reject") busy++;
        if (++answered === asks) resolve();
      };
    });
    raw.socket.resume();
    await allAnswered;
    expect(busy).toBeGreaterThan(0);
    expect(asks - busy).toBeGreaterThan(0);
    expect(node.peerExits).toEqual([]);
  });
});

/** A scripted peer for the fetcher: answers the handshake, offers `size`, and serves `pieceAt` per request. */
interface Script {
  readonly infoHash: Buffer;
  readonly offer: { readonly ut?: number; readonly size?: number } | "silent";
  /** Bytes answered for a piece request; undefined: reject it. */
  readonly pieceAt?: (piece: number) => Buffer | undefined;
  readonly totalSize?: number;
  /** Extra bytes sent right after the offer. */
  readonly afterOffer?: Buffer;
  /** Answer a piece request only once this resolves (default: at once). */
  readonly hold?: (piece: number) => Promise<void>;
}

async function scripted(script: Script): Promise<number> {
  const server = createServer((socket: Socket) => {
    socket.on("error", () => undefined);
    const parser = new HandshakeParser();
    let frames: ExtendedFrames | undefined;
    socket.on("data", (chunk: Buffer) => {
      let rest = chunk;
      if (frames === undefined) {
        const step = parser.push(chunk);
        if (step.type !== "handshake") return;
        if (script.offer === "silent") return;
        socket.write(encodeHandshake({ infoHash: script.infoHash, peerId: randomBytes(20), extended: true, fast: false, dht: false }));
        const m = new Map<string, number>(script.offer.ut === undefined ? [] : [["ut_metadata", script.offer.ut]]);
        socket.write(encodeExtended(0, encodeExtendedHandshakePayload({ extensions: m, ...(script.offer.size === undefined ? {} : { metadataSize: script.offer.size }) })));
        socket.write(encodeMessage({ type: "bitfield", bits: Buffer.alloc(300, 0xff) } as unknown as WireMessage));
        if (script.afterOffer !== undefined) socket.write(script.afterOffer);
        frames = new ExtendedFrames();
        rest = step.rest;
      }
      for (const m of frames.push(rest)) {
        if (m.type !== "extended" || m.extId !== 1) continue;
        const parsed = parseMetadataMessage(m.payload);
        if (parsed.type !== "ok" || parsed.message.type !== "request") continue;
        const piece = parsed.message.piece;
        const bytes = script.pieceAt?.(piece);
        const answer = encodeExtended(UT_METADATA_ID, bytes === undefined ? encodeMetadataReject(piece) : encodeMetadataData(piece, script.totalSize ?? 0, bytes));
        if (script.hold === undefined) socket.write(answer);
        else void script.hold(piece).then(() => socket.write(answer));
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

async function fetcher(infoHash: Buffer, ports: number[], attemptTimeoutMs = 5000, clock?: ManualClock): Promise<{ rt: Runtime; pid: Pid }> {
  const rt = new Runtime({ label: "fetch", ...(clock === undefined ? {} : { clock }) });
  runtimes.push(rt);
  const pid = (await startServer(metadataFetchBehaviour, { infoHash, peerId: randomBytes(20), peers: ports.map((port) => ({ host: "127.0.0.1", port })), attemptTimeoutMs }, { runtime: rt, link: false })) as Pid;
  return { rt, pid };
}

const pieceOf = (bytes: Buffer) => (p: number) => bytes.subarray(p * METADATA_PIECE_BYTES, (p + 1) * METADATA_PIECE_BYTES);

describe("metadata_fetch", () => {
  it("gets the info dictionary from our own seed, byte for byte, and exits normally", async () => {
    const { data, meta } = bigTorrent();
    const node = await startNode({ meta, seedData: data, listen: true, label: "seed" });
    nodes.push(node);
    const { rt, pid } = await fetcher(meta.infoHash, [node.port!]);
    const { infoBytes: bytes, failures } = await rt.call<MetadataFetched>(pid, { t: "await" }, 10_000);
    expect(bytes.equals(meta.infoBytes)).toBe(true);
    expect(createHash("sha1").update(bytes).digest().equals(meta.infoHash)).toBe(true);
    expect(failures).toEqual([]);
    await until(() => !rt.isAlive(pid)); // done: it exits normally
  });

  it("drops peers that lie, refuse, lack ut_metadata or offer too much, and gets it from the honest one after them", async () => {
    const { meta } = bigTorrent();
    const info = meta.infoBytes;
    const forged = Buffer.from(info);
    forged[forged.length - 2] = (forged[forged.length - 2] as number) ^ 1;
    const liar = await scripted({ infoHash: meta.infoHash, offer: { ut: 1, size: info.length }, totalSize: info.length, pieceAt: pieceOf(forged) });
    const refuser = await scripted({ infoHash: meta.infoHash, offer: { ut: 1, size: info.length }, totalSize: info.length, pieceAt: () => undefined });
    const plain = await scripted({ infoHash: meta.infoHash, offer: { size: info.length } });
    const greedy = await scripted({ infoHash: meta.infoHash, offer: { ut: 1, size: MAX_METADATA_BYTES + 1 } });
    const honest = await scripted({ infoHash: meta.infoHash, offer: { ut: 1, size: info.length }, totalSize: info.length, pieceAt: pieceOf(info) });
    const { rt, pid } = await fetcher(meta.infoHash, [liar, refuser, plain, greedy, honest]);
    const fetched = await rt.call<MetadataFetched>(pid, { t: "await" }, 10_000);
    expect(fetched.infoBytes.equals(info)).toBe(true);
    expect(fetched.attempts).toBe(5);
    const why = Object.fromEntries(fetched.failures.map((f) => [Number(f.peer.split(":")[1]), f.why]));
    expect(why).toEqual({ [liar]: "badMetadata", [refuser]: "rejected", [plain]: "noMetadataExtension", [greedy]: "badMetadataSize" });
  });

  it("drops a peer that sends a piece it was not asked for, asks us for metadata again and again, or switches ut_metadata off", async () => {
    const { meta } = bigTorrent();
    const info = meta.infoBytes;
    expect(Math.ceil(info.length / METADATA_PIECE_BYTES)).toBeGreaterThan(2); // 2 are asked at a time: piece 2 is not, at first
    const base = { infoHash: meta.infoHash, offer: { ut: 1, size: info.length }, totalSize: info.length } as const;
    const unasked = await scripted({ ...base, afterOffer: encodeExtended(UT_METADATA_ID, encodeMetadataData(2, info.length, pieceOf(info)(2))) });
    const asker = await scripted({ ...base, afterOffer: Buffer.concat(Array.from({ length: 17 }, () => encodeExtended(UT_METADATA_ID, encodeMetadataRequest(0)))) });
    const off = await scripted({ ...base, afterOffer: encodeExtended(0, encodeExtendedHandshakePayload({ extensions: new Map([["ut_metadata", 0]]) })), hold: () => new Promise<void>(() => undefined) });
    const honest = await scripted({ ...base, pieceAt: pieceOf(info) });
    const { rt, pid } = await fetcher(meta.infoHash, [unasked, asker, off, honest]);
    const fetched = await rt.call<MetadataFetched>(pid, { t: "await" }, 10_000);
    expect(fetched.infoBytes.equals(info)).toBe(true);
    const why = Object.fromEntries(fetched.failures.map((f) => [Number(f.peer.split(":")[1]), `${f.why}: ${f.detail}`]));
    expect(why[unasked]).toMatch(/^badMessage: metadata piece 2 was not asked for/);
    expect(why[asker]).toMatch(/^badMessage: more than 16 requests/);
    expect(why[off]).toMatch(/^noMetadataExtension: .*second extended handshake/);
  });

  it("gives a slow peer its time per piece, not for the whole dictionary", async () => {
    const { meta } = bigTorrent();
    const info = meta.infoBytes;
    const pieces = Math.ceil(info.length / METADATA_PIECE_BYTES);
    const gates = new Map<number, () => void>();
    const asked = new Map<number, Promise<void>>();
    const slow = await scripted({
      infoHash: meta.infoHash,
      offer: { ut: 1, size: info.length },
      totalSize: info.length,
      pieceAt: pieceOf(info),
      hold: (piece) => {
        const gate = new Promise<void>((resolve) => gates.set(piece, resolve));
        asked.set(piece, Promise.resolve());
        return gate;
      },
    });
    const clock = new ManualClock();
    const { rt, pid } = await fetcher(meta.infoHash, [slow], 1000, clock);
    const fetched = rt.call<MetadataFetched>(pid, { t: "await" }, Infinity);
    const have = async (): Promise<number> => (await rt.call<MetadataFetchStatus>(pid, { t: "status" })).asking?.have ?? -1;
    for (let p = 0; p < pieces; p++) {
      await until(() => gates.has(p)); // asked (a real socket event)
      clock.advance(900); // most of the time a piece may take, for every piece: more than 1000 ms in all
      (gates.get(p) as () => void)();
      if (p < pieces - 1) await until(async () => (await have()) === p + 1); // taken before the clock moves on
    }
    const got = await fetched;
    expect(got.infoBytes.equals(info)).toBe(true);
    expect(got.failures).toEqual([]);
    expect(clock.now()).toBeGreaterThan(1000);
  });

  it("reports why each peer failed while it keeps trying: refused connection, wrong torrent, silence past the attempt's time", async () => {
    const { meta } = bigTorrent();
    const closed = await scripted({ infoHash: meta.infoHash, offer: "silent" });
    servers[servers.length - 1]?.close(); // nothing listens there any more
    const other = await scripted({ infoHash: randomBytes(20), offer: { ut: 1, size: 100 } });
    const silent = await scripted({ infoHash: meta.infoHash, offer: "silent" });
    const clock = new ManualClock();
    const { rt, pid } = await fetcher(meta.infoHash, [closed, other, silent], 300, clock);
    const failures = async (): Promise<MetadataFetchStatus["failures"]> => (await rt.call<MetadataFetchStatus>(pid, { t: "status" })).failures;
    await until(async () => (await failures()).length === 2); // refused and wrong torrent: real socket events
    expect(clock.advance(300)).toBeGreaterThanOrEqual(1); // the silent peer's attempt runs out
    const why = Object.fromEntries((await failures()).map((f) => [Number(f.peer.split(":")[1]), f.why]));
    expect(why).toEqual({ [closed]: "connectFailed", [other]: "handshakeRefused", [silent]: "timeout" });
    expect(rt.isAlive(pid)).toBe(true);
  });
});
