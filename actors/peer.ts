/**
 * peer: one gen_server per connection, started by the torrent's peer_pool (temporary: a
 * peer is never restarted, there are other peers).
 *
 * What it guarantees:
 * - It owns its socket (adopted: destroyed when the actor exits, whatever the reason) and
 *   its lifecycle machine; every socket callback enters as a mailbox message, so a socket
 *   error is handled in a turn, never an uncaught exception.
 * - Registered as ["peer", infoHash, "host:port"] (a second link to the same address is
 *   refused at start) and a member of the torrent's peers group (HAVE broadcasts).
 * - Handshake: ours announces the fast (BEP 6) and extension (BEP 10) protocols; theirs must
 *   carry our info-hash, not our own peer id, from a host that is not banned, within the
 *   handshake timeout. Then our pieces (bitfield, or have-all / have-none with fast) and
 *   our extended handshake (`reqq` = our upload queue bound; ut_metadata and metadata_size,
 *   so a peer that came with a magnet link gets the info dictionary: peer/metadataServe.ts),
 *   then the byte path.
 * - Every end of a link -- a protocol violation, a refused handshake, a closed socket, a
 *   ban, both ends seeds -- is an exit `{shutdown, PeerExit}`: orderly, never a crash
 *   report. Only a bug in this code (or a failed disk read) is a crash.
 * - The piece manager learns everything it needs to keep its reservations right: the peer
 *   joining (it monitors us, so our death, however it comes, releases our blocks), its
 *   pieces, chokes, rejects, blocks. torrent.counters.peersSeen counts accepted handshakes.
 * - Whether we upload to the peer is the node's choker's decision when it runs one: the
 *   link registers when active, reports its rates periodically and its peer's interest
 *   changes, and obeys choke / unchoke (peer/chokerLink.ts); without a choker every
 *   interested peer is unchoked.
 *
 * The byte path is plain code (executor.ts, download.ts, upload.ts); the xstate machine
 * receives only state changes. See docs in actors/peer/*.ts for each part's guarantees.
 */
import { isIP, Socket, connect } from "node:net";
import { log } from "../src/log.js";
import {
  DownMsg,
  Reason,
  defineServer,
  noreply,
  ok,
  startServer,
  stop,
  type Ctx,
  type InfoResult,
  type Pid,
  type StartResult,
} from "../src/runtime/index.js";
import {
  HandshakeParser,
  encodeExtended,
  encodeBitfield,
  encodeExtendedHandshakePayload,
  encodeHandshake,
  torrentGeometry,
  type Handshake,
  type WireFeatures,
} from "../src/protocol/wire/index.js";
import { names, type TorrentState } from "./torrentState.js";
import type { PeerNotice } from "./pieceMgr.js";
import { pieceMgr } from "./pieceMgr.js";
import { HANDSHAKE_TIMEOUT, now, wrote, type BlockReader, type PeerConn, type SelfMsg } from "./peer/conn.js";
import { onPicked, onPickTimedOut, type PickResult } from "./peer/download.js";
import { armTick, drainWire, executeNotice, onTick } from "./peer/executor.js";
import { joinChoker, onChokerCommand, reportToChoker } from "./peer/chokerLink.js";
import { isChokerCommand, type ChokerCommand } from "./choker/messages.js";
import { CLIENT_NAME, OUR_FLAGS, firstMessage, judgeHandshake } from "./peer/handshakeCheck.js";
import { ActiveLink, LinkMachine, type LinkEnd, type PeerExit } from "./peer/link.js";
import { peerConfig, type PeerOptions } from "./peer/options.js";
import { PeerSocket, type SocketEvent } from "./peer/socketIo.js";
import { BlockRead, onBlockRead, pumpReads } from "./peer/upload.js";
import { UT_METADATA_ID, metadataOffer } from "./peer/metadataServe.js";

export type { BlockReader } from "./peer/conn.js";
export type { PeerExit, PeerExitWhy } from "./peer/link.js";
export type { PeerOptions } from "./peer/options.js";

/** What every peer of a torrent shares: the torrent, how to read its blocks, our peer id. */
export interface PeerBase {
  readonly state: TorrentState;
  readonly io: BlockReader;
  readonly peerId: Buffer;
  readonly options?: PeerOptions;
}

/** We dial: the actor connects and both handshakes run under the handshake timeout. */
export interface OutgoingConnection {
  readonly direction: "outgoing";
  readonly host: string;
  readonly port: number;
  /** Local address to bind (a node's own 127.x.y.z in swarm mode). */
  readonly localAddress?: string;
}

/** They dialled: the listener read their handshake (`rest`: bytes that followed it) and hands the socket over paused. */
export interface IncomingConnection {
  readonly direction: "incoming";
  readonly socket: Socket;
  readonly handshake: Handshake;
  readonly rest: Buffer;
}

export type PeerConnection = OutgoingConnection | IncomingConnection;
export type PeerArgs = PeerBase & PeerConnection;

type Info = Buffer | DownMsg | BlockRead | SocketEvent | SelfMsg | PickResult | PeerNotice | ChokerCommand;

/** init's continuation for an incoming connection. */
class TakeOver {
  constructor(readonly connection: IncomingConnection) {}
}

export const peerBehaviour = defineServer<PeerConn, PeerArgs, never, never, Info>({
  name: "peer",

  init(args, ctx) {
    const config = peerConfig(args.options);
    const socket = args.direction === "outgoing" ? dial(args) : args.socket;
    ctx.adopt(socket);
    socket.setNoDelay(true);
    const conn: PeerConn = {
      key: peerKeyOf(args),
      host: args.direction === "outgoing" ? args.host : (args.socket.remoteAddress ?? "unknown"),
      ts: args.state,
      io: args.io,
      peerId: args.peerId,
      config,
      sock: new PeerSocket(socket, ctx),
      machine: new LinkMachine(ctx),
      stage: { kind: "connecting" },
      flushQueued: false,
      mgr: undefined,
      handshakeTimer: undefined,
      metadataOffer: metadataOffer(args.state.meta),
    };
    ctx.join(names.peers(args.state.infoHashHex));
    conn.handshakeTimer = ctx.sendAfter(config.handshakeTimeoutMs, HANDSHAKE_TIMEOUT);
    if (args.direction === "outgoing") return ok(conn);
    return ok(conn, { continue: new TakeOver(args) });
  },

  handleContinue(cont, conn, ctx) {
    // An incoming connection: their handshake is in, answer it and go active at once.
    if (!(cont instanceof TakeOver)) throw new TypeError("peer: unexpected continue");
    const args = cont.connection;
    if (args.socket.destroyed) return end(conn, { why: "remoteClosed", detail: "closed while handed over" });
    conn.machine.send({ type: "CONNECTED" });
    conn.sock.start();
    return handshakeDone(conn, ctx, args.handshake, args.rest, "incoming");
  },

  handleInfo(msg, conn, ctx) {
    if (Buffer.isBuffer(msg)) return onData(conn, ctx, msg);
    if (msg instanceof BlockRead) {
      if (conn.stage.kind === "active") onBlockRead(conn, conn.stage.link, ctx, msg);
      return noreply(conn);
    }
    if (msg instanceof DownMsg) {
      if (conn.mgr !== undefined && msg.pid.id === conn.mgr.id) return end(conn, { why: "pieceMgrDown" });
      return noreply(conn);
    }
    if ("type" in msg) {
      if (isChokerCommand(msg)) {
        if (conn.stage.kind === "active") onChokerCommand(conn, conn.stage.link, ctx, msg);
        return noreply(conn);
      }
      return onNotice(conn, ctx, msg);
    }
    switch (msg.t) {
      case "flush": {
        conn.flushQueued = false;
        const bytes = conn.sock.outbox.flush();
        if (bytes > 0 && conn.stage.kind === "active") conn.stage.link.clock.sent(now(ctx));
        return noreply(conn);
      }
      case "continue":
        if (conn.stage.kind !== "active") return noreply(conn);
        conn.stage.link.decodePending = false;
        return after(conn, drainWire(conn, conn.stage.link, ctx));
      case "picked":
        if (conn.stage.kind === "active") onPicked(conn, conn.stage.link, ctx, msg.reqs);
        return noreply(conn);
      case "pickTimedOut":
        if (conn.stage.kind === "active") onPickTimedOut(conn, conn.stage.link, ctx);
        return noreply(conn);
      case "pickFailed":
        return end(conn, { why: "pieceMgrDown", detail: describe(msg.error) });
      case "tick":
        return conn.stage.kind === "active" ? after(conn, onTick(conn, conn.stage.link, ctx)) : noreply(conn);
      case "chokerReport":
        if (conn.stage.kind === "active") reportToChoker(conn, conn.stage.link, ctx);
        return noreply(conn);
      case "handshakeTimeout":
        return conn.stage.kind === "active" ? noreply(conn) : end(conn, { why: "handshakeTimeout" });
      case "connected":
        conn.machine.send({ type: "CONNECTED" });
        conn.stage = { kind: "handshaking", parser: new HandshakeParser() };
        conn.sock.outbox.raw(ourHandshake(conn));
        wrote(conn, ctx);
        return noreply(conn);
      case "drain":
        conn.sock.drained();
        if (conn.stage.kind === "active") pumpReads(conn, conn.stage.link, ctx);
        return noreply(conn);
      case "closed":
        return end(conn, { why: "remoteClosed" });
      case "socketError":
        return end(conn, { why: conn.stage.kind === "connecting" ? "connectFailed" : "socketError", detail: describe(msg.error) });
      default: {
        const unreachable: never = msg;
        throw new Error(`peer: unexpected message ${JSON.stringify(unreachable)}`);
      }
    }
  },
});

function onData(conn: PeerConn, ctx: Ctx, chunk: Buffer): InfoResult<PeerConn> {
  conn.sock.taken(chunk);
  const stage = conn.stage;
  switch (stage.kind) {
    case "active":
      stage.link.clock.received(now(ctx));
      stage.link.decoder.push(chunk);
      return after(conn, drainWire(conn, stage.link, ctx));
    case "handshaking": {
      const step = stage.parser.push(chunk);
      switch (step.type) {
        case "needMore":
          return noreply(conn);
        case "violation":
          return end(conn, { why: "violation", violation: step.reason, detail: step.detail });
        case "handshake":
          return handshakeDone(conn, ctx, step.handshake, step.rest, "outgoing");
        default: {
          const unreachable: never = step;
          throw new Error(`peer: handshake step ${JSON.stringify(unreachable)}`);
        }
      }
    }
    case "connecting":
      // Data before 'connect' cannot happen on a TCP socket.
      return noreply(conn);
    default: {
      const unreachable: never = stage;
      throw new Error(`peer: stage ${JSON.stringify(unreachable)}`);
    }
  }
}

function onNotice(conn: PeerConn, ctx: Ctx, notice: PeerNotice): InfoResult<PeerConn> {
  if (notice.type === "banned") return end(conn, { why: "banned", detail: `${notice.strikes} strikes` });
  // Before the link is active our bitfield is still to be sent, and it is read when it is.
  if (conn.stage.kind !== "active") return noreply(conn);
  return after(conn, executeNotice(conn, conn.stage.link, ctx, notice));
}

/** Their handshake is complete: judge it, say ours if not said yet, and go active. */
function handshakeDone(conn: PeerConn, ctx: Ctx, theirs: Handshake, rest: Buffer, direction: "incoming" | "outgoing"): InfoResult<PeerConn> {
  const ts = conn.ts;
  const verdict = judgeHandshake(theirs, { infoHash: ts.meta.infoHash, ourPeerId: conn.peerId, host: conn.host, banned: ts.banned });
  if (verdict.kind === "refuse") return end(conn, { why: "handshakeRefused", detail: `${verdict.why}: ${verdict.detail}` });
  const mgr = ctx.runtime.whereis(names.pieceMgr(ts.infoHashHex));
  if (mgr === undefined) return end(conn, { why: "pieceMgrDown", detail: "no piece manager registered" });
  ts.counters.peersSeen++;
  if (conn.handshakeTimer !== undefined) ctx.cancelTimer(conn.handshakeTimer);
  conn.machine.send({ type: "HANDSHAKE_OK" });
  conn.mgr = mgr;
  ctx.monitor(mgr);
  pieceMgr.peerJoined(ctx, mgr, conn.key);

  const link = new ActiveLink(conn.machine, verdict.features, torrentGeometry({ pieceCount: ts.meta.pieceCount, pieceLength: ts.meta.pieceLength, totalLength: ts.meta.length }), ts.have, conn.config, now(ctx));
  conn.stage = { kind: "active", link };
  const out = conn.sock.outbox;
  if (direction === "incoming") out.raw(ourHandshake(conn));
  sayOurPieces(conn, verdict.features);
  wrote(conn, ctx);
  link.decoder.push(rest);
  armTick(link, ctx);
  joinChoker(conn, link, ctx);
  return after(conn, drainWire(conn, link, ctx));
}

function sayOurPieces(conn: PeerConn, features: WireFeatures): void {
  const out = conn.sock.outbox;
  const first = firstMessage(conn.ts.have, features);
  switch (first.kind) {
    case "haveAll":
    case "haveNone":
      out.bare(first.kind);
      break;
    case "bitfield":
      out.raw(encodeBitfield(first.bits));
      break;
    case "nothing":
      break;
    default: {
      const unreachable: never = first;
      throw new Error(`peer: first message ${JSON.stringify(unreachable)}`);
    }
  }
  if (features.extended) {
    const offer = conn.metadataOffer;
    const payload = encodeExtendedHandshakePayload({
      ...(offer.kind === "offer" ? { extensions: new Map([["ut_metadata", UT_METADATA_ID]]), metadataSize: offer.size } : { extensions: new Map() }),
      requestQueue: conn.config.uploadQueueBound,
      client: CLIENT_NAME,
      listenPort: conn.config.listenPort,
      yourIp: isIP(conn.host) === 0 ? undefined : conn.host,
    });
    out.raw(encodeExtended(0, payload));
  }
}

function ourHandshake(conn: PeerConn): Buffer {
  return encodeHandshake({ infoHash: conn.ts.meta.infoHash, peerId: conn.peerId, ...OUR_FLAGS });
}

function after(conn: PeerConn, linkEnd: LinkEnd | undefined): InfoResult<PeerConn> {
  return linkEnd === undefined ? noreply(conn) : end(conn, linkEnd);
}

/** End the link: an orderly exit whose reason says why (the socket closes with the actor). */
function end(conn: PeerConn, linkEnd: LinkEnd): InfoResult<PeerConn> {
  // What is queued (a last HAVE, NOT_INTERESTED) still goes out; a violator gets nothing more.
  if (linkEnd.why !== "violation") conn.sock.outbox.flush();
  conn.machine.close(linkEnd);
  const exit: PeerExit = { peer: conn.key, why: linkEnd.why, detail: linkEnd.detail, violation: linkEnd.violation };
  log.debug({ infoHash: conn.ts.infoHashHex, ...exit }, "peer link closed");
  return stop(Reason.shutdown(exit), conn);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function dial(args: OutgoingConnection): Socket {
  return connect({ host: args.host, port: args.port, ...(args.localAddress === undefined ? {} : { localAddress: args.localAddress }) });
}

function peerKeyOf(args: PeerConnection): string {
  if (args.direction === "outgoing") return `${args.host}:${args.port}`;
  return `${args.socket.remoteAddress ?? "unknown"}:${args.socket.remotePort ?? 0}`;
}

/** Edge checks: a bad argument is our caller's bug, reported before anything is opened. */
function checkArgs(args: PeerArgs): void {
  if (!Buffer.isBuffer(args.peerId) || args.peerId.length !== 20) throw new RangeError("startPeer: peerId must be 20 bytes");
  if (args.direction === "outgoing") {
    if (typeof args.host !== "string" || args.host.length === 0) throw new RangeError("startPeer: host must be a non-empty string");
    if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535) throw new RangeError(`startPeer: port must be 1..65535, got ${args.port}`);
  } else if (!(args.socket instanceof Socket)) {
    throw new TypeError("startPeer: an incoming connection needs its net.Socket");
  }
}

/**
 * Start a peer actor (linked to the caller: its peer_pool). Rejects with StartError
 * `{already_started, pid}` when a link to the same address is already up.
 */
export function startPeer(args: PeerArgs): Promise<StartResult> {
  try {
    checkArgs(args);
  } catch (error) {
    return Promise.reject(error);
  }
  return startServer(peerBehaviour, args, { name: peerName(args.state.infoHashHex, peerKeyOf(args)) });
}

/** The registered name of the peer actor for `key` (`host:port`) in torrent `ih`. */
export function peerName(ih: string, key: string): readonly ["peer", string, string] {
  return ["peer", ih, key];
}

/** The peer actor linked to `host:port` for torrent `ih`, if any. */
export function whereisPeer(ctx: Ctx, ih: string, key: string): Pid | undefined {
  return ctx.runtime.whereis(peerName(ih, key));
}
