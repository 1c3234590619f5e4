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
import { UT_METADATA_ID, answerMetadata } from "../../actors/peer/metadataServe.js";
import { judgeMessage, judgeOffer } from "../../actors/metadataFetch/analyze.js";
import { startNode, torrentOf, until, type TorrentNode } from "./peerNode.js";
import { RawPeer } from "./rawPeer.js";

const nodes: TorrentNode[] = [];
const servers: Server[] = [];
const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.stop();
  for (const rt of runtimes.splice(0)) for (const pid of rt.pids()) rt.exit(pid, { kind: "kill" });
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

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
    );
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 50 }), (msgs, cuts) => {
        const wire = Buffer.concat(msgs.map((m) => (m.ext ? encodeExtended(m.id, m.body) : frame(m.id, m.body))));
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
    expect(answerMetadata(parseMetadataMessage(encodeMetadataRequest(2)), size, 7)).toEqual({ kind: "send", piece: 2, theirId: 7 });
    expect(answerMetadata(parseMetadataMessage(encodeMetadataRequest(3)), size, 7)).toEqual({ kind: "reject", piece: 3, theirId: 7 });
    expect(answerMetadata(parseMetadataMessage(encodeMetadataRequest(0)), size, undefined)).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(parseMetadataMessage(encodeMetadataReject(0)), size, 7)).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(parseMetadataMessage(Buffer.from("garbage")), size, 7)).toMatchObject({ kind: "ignore" });
    expect(answerMetadata(parseMetadataMessage(Buffer.from("d8:msg_typei5e5:piecei0ee")), size, 7)).toMatchObject({ kind: "ignore" });
  });
});

describe("our peer actor serves its metadata (BEP 9)", () => {
  it("announces ut_metadata with metadata_size, answers each piece with the original info bytes, rejects a piece past the end", async () => {
    const { data, meta } = bigTorrent();
    const node = await startNode({ meta, seedData: data, listen: true, label: "seed" });
    nodes.push(node);
    const raw = await RawPeer.dial(node.port!, { infoHash: meta.infoHash, extended: true, torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length } });
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

/** A scripted peer for the fetcher: answers the handshake, offers `size`, and serves `pieceAt` per request. */
interface Script {
  readonly infoHash: Buffer;
  readonly offer: { readonly ut?: number; readonly size?: number } | "silent";
  /** Bytes answered for a piece request; undefined: reject it. */
  readonly pieceAt?: (piece: number) => Buffer | undefined;
  readonly totalSize?: number;
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
        frames = new ExtendedFrames();
        rest = step.rest;
      }
      for (const m of frames.push(rest)) {
        if (m.type !== "extended" || m.extId !== 1) continue;
        const parsed = parseMetadataMessage(m.payload);
        if (parsed.type !== "ok" || parsed.message.type !== "request") continue;
        const piece = parsed.message.piece;
        const bytes = script.pieceAt?.(piece);
        socket.write(encodeExtended(UT_METADATA_ID, bytes === undefined ? encodeMetadataReject(piece) : encodeMetadataData(piece, script.totalSize ?? 0, bytes)));
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
