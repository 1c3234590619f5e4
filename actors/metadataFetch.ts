/**
 * metadata_fetch: gets a torrent's info dictionary from peers (BEP 9, ut_metadata over the
 * BEP 10 extension protocol) for a magnet link, before the torrent itself can start. A
 * temporary child of swarmsup_sup: it ends when it has the metadata, or when its caller gives
 * up and terminates it.
 *
 * Guarantees:
 * - One peer at a time, in the order given, round after round (with a pause that doubles
 *   from 1 s to 30 s between rounds), until one gives the whole metadata. An attempt is
 *   bounded by `attemptTimeoutMs` until the peer has offered the metadata (connect, both
 *   handshakes), then by the same time between pieces, so a slow peer can still deliver a
 *   large info dictionary.
 * - The metadata returned hashes (SHA-1) to the info-hash asked for: a peer that sends
 *   anything else is dropped and the next one asked.
 * - Bounded memory: metadata up to MAX_METADATA_BYTES, allocated once per attempt; the
 *   link's other messages are skipped unbuffered (./metadataFetch/frames.ts); the socket is
 *   paused while more than INBOUND_HIGH_WATER of its chunks wait in the mailbox; what we
 *   write is a few requests and at most MAX_REJECTS rejects (a peer that keeps asking us
 *   for metadata we never offered is dropped).
 * - The socket of an attempt belongs to the actor (closed when it exits) and its events
 *   enter as messages tagged with the attempt, so a late event of an abandoned socket is
 *   ignored.
 * - `status` tells the caller the last failure of each peer and the peer being asked, so a
 *   timeout can say why.
 */
import { connect, type Socket } from "node:net";
import {
  defineServer,
  noreply,
  ok,
  reply,
  Reason,
  startServer,
  type Ctx,
  type From,
  type InfoResult,
  type StartResult,
  type TimerRef,
} from "../src/runtime/index.js";
import {
  HandshakeParser,
  commonFeatures,
  encodeExtended,
  encodeExtendedHandshakePayload,
  encodeHandshake,
  parseExtendedHandshake,
} from "../src/protocol/wire/index.js";
import { MetadataAssembly, encodeMetadataReject, encodeMetadataRequest, parseMetadataMessage } from "../src/protocol/wire/metadata.js";
import type { PeerAddress } from "./torrentCtl.js";
import { CLIENT_NAME, OUR_FLAGS } from "./peer/handshakeCheck.js";
import { ExtendedFrames } from "./metadataFetch/frames.js";
import { judgeMessage, judgeOffer, type GiveUpReason } from "./metadataFetch/analyze.js";
import { UT_METADATA_ID } from "./peer/metadataServe.js";

export interface MetadataFetchArgs {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly peers: readonly PeerAddress[];
  /** Local address to bind (the node's own host). */
  readonly localAddress?: string;
  /** One peer's whole attempt: connect, handshakes, every piece. Default 15 s. */
  readonly attemptTimeoutMs?: number;
}

export interface PeerFailure {
  readonly peer: string;
  readonly why: GiveUpReason;
  readonly detail: string;
}

export interface AttemptProgress {
  readonly peer: string;
  /** Metadata pieces received of `of` (undefined until the peer offered the metadata). */
  readonly have: number;
  readonly of: number | undefined;
}

export interface MetadataFetchStatus {
  readonly attempts: number;
  readonly failures: readonly PeerFailure[];
  /** The peer the current attempt is waiting on, if any, and how far it got. */
  readonly asking: AttemptProgress | undefined;
}

/** The answer to `await`: the info dictionary, and who failed before it came. */
export interface MetadataFetched extends MetadataFetchStatus {
  readonly infoBytes: Buffer;
}

const DEFAULT_ATTEMPT_MS = 15_000;
const FIRST_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 30_000;
/** Metadata requests kept in flight on a link (libtorrent answers a few at a time). */
const REQUESTS_IN_FLIGHT = 2;
/** Chunks waiting in the mailbox above this pause the socket. */
const INBOUND_HIGH_WATER = 256 * 1024;
/** Metadata requests we answer with a reject before we drop the peer that keeps asking. */
const MAX_REJECTS = 16;

interface Attempt {
  readonly id: number;
  readonly peer: PeerAddress;
  readonly socket: Socket;
  /** Until the offer: the whole opening's deadline; then the deadline for the next piece. */
  timer: TimerRef;
  connected: boolean;
  /** Bytes of this socket's chunks in the mailbox. */
  queuedIn: number;
  rejectsSent: number;
  handshake: HandshakeParser | undefined;
  readonly frames: ExtendedFrames;
  theirId: number | undefined;
  assembly: MetadataAssembly | undefined;
  /** Pieces asked for and not yet received. */
  readonly asked: Set<number>;
}

interface FetchState {
  readonly args: MetadataFetchArgs;
  readonly attemptMs: number;
  attempt: Attempt | undefined;
  attempts: number;
  /** Next peer to ask (index into args.peers). */
  next: number;
  pauseMs: number;
  /** Last failure per peer. */
  readonly failures: Map<string, PeerFailure>;
  readonly waiters: From[];
}

type SocketNote =
  | { readonly t: "connected"; readonly id: number }
  | { readonly t: "data"; readonly id: number; readonly chunk: Buffer }
  | { readonly t: "closed"; readonly id: number; readonly detail: string }
  | { readonly t: "attemptTimeout"; readonly id: number };
type Info = SocketNote | { readonly t: "nextRound" };
type Request = { readonly t: "await" } | { readonly t: "status" };

export const metadataFetchBehaviour = defineServer<FetchState, MetadataFetchArgs, Request, never, Info>({
  name: "metadata_fetch",

  init(args, ctx) {
    if (args.infoHash.length !== 20) throw new RangeError("metadata_fetch: infoHash must be 20 bytes");
    if (args.peers.length === 0) throw new RangeError("metadata_fetch: no peer to ask");
    const state: FetchState = {
      args,
      attemptMs: args.attemptTimeoutMs ?? DEFAULT_ATTEMPT_MS,
      attempt: undefined,
      attempts: 0,
      next: 0,
      pauseMs: FIRST_PAUSE_MS,
      failures: new Map(),
      waiters: [],
    };
    startAttempt(state, ctx);
    return ok(state);
  },

  handleCall(request, from, state) {
    switch (request.t) {
      case "await":
        state.waiters.push(from);
        return noreply(state);
      case "status":
        return reply(statusOf(state), state);
      default: {
        const unreachable: never = request;
        throw new Error(`metadata_fetch: call ${JSON.stringify(unreachable)}`);
      }
    }
  },

  handleInfo(msg, state, ctx) {
    if (msg.t === "nextRound") {
      startAttempt(state, ctx);
      return noreply(state);
    }
    const attempt = state.attempt;
    if (attempt === undefined || attempt.id !== msg.id) return noreply(state); // an abandoned attempt's socket
    switch (msg.t) {
      case "connected":
        attempt.connected = true;
        attempt.socket.write(encodeHandshake({ infoHash: state.args.infoHash, peerId: state.args.peerId, ...OUR_FLAGS }));
        return noreply(state);
      case "data": {
        attempt.queuedIn -= msg.chunk.length;
        const result = onData(state, attempt, ctx, msg.chunk);
        if (state.attempt === attempt && attempt.queuedIn < INBOUND_HIGH_WATER && attempt.socket.isPaused()) attempt.socket.resume();
        return result;
      }
      case "closed":
        return giveUp(state, ctx, attempt.connected ? "closed" : "connectFailed", msg.detail);
      case "attemptTimeout":
        return giveUp(state, ctx, "timeout", attempt.assembly === undefined ? `no metadata offer within ${state.attemptMs} ms` : `no metadata piece for ${state.attemptMs} ms`);
      default: {
        const unreachable: never = msg;
        throw new Error(`metadata_fetch: message ${JSON.stringify(unreachable)}`);
      }
    }
  },
});

function startAttempt(state: FetchState, ctx: Ctx): void {
  const peers = state.args.peers;
  const peer = peers[state.next % peers.length] as PeerAddress;
  state.next++;
  state.attempts++;
  const id = state.attempts;
  const local = state.args.localAddress;
  const socket = ctx.adopt(connect({ host: peer.host, port: peer.port, ...(local === undefined ? {} : { localAddress: local }) }));
  socket.setNoDelay(true);
  socket.on("connect", () => ctx.deliver({ t: "connected", id } satisfies SocketNote));
  socket.on("data", (chunk: Buffer) => {
    const attempt = state.attempt;
    if (attempt?.id === id && (attempt.queuedIn += chunk.length) >= INBOUND_HIGH_WATER) socket.pause();
    ctx.deliver({ t: "data", id, chunk } satisfies SocketNote);
  });
  socket.on("error", (error: Error) => ctx.deliver({ t: "closed", id, detail: error.message } satisfies SocketNote));
  socket.on("close", () => ctx.deliver({ t: "closed", id, detail: "the peer closed the connection" } satisfies SocketNote));
  state.attempt = {
    id,
    peer,
    socket,
    timer: ctx.sendAfter(state.attemptMs, { t: "attemptTimeout", id } satisfies SocketNote),
    connected: false,
    queuedIn: 0,
    rejectsSent: 0,
    handshake: new HandshakeParser(),
    frames: new ExtendedFrames(),
    theirId: undefined,
    assembly: undefined,
    asked: new Set(),
  };
}

function onData(state: FetchState, attempt: Attempt, ctx: Ctx, chunk: Buffer): InfoResult<FetchState> {
  let rest = chunk;
  if (attempt.handshake !== undefined) {
    const step = attempt.handshake.push(chunk);
    switch (step.type) {
      case "needMore":
        return noreply(state);
      case "violation":
        return giveUp(state, ctx, "badMessage", step.detail);
      case "handshake": {
        if (!step.handshake.infoHash.equals(state.args.infoHash)) return giveUp(state, ctx, "handshakeRefused", `the peer serves ${step.handshake.infoHash.toString("hex")}`);
        if (!commonFeatures(OUR_FLAGS, step.handshake).extended) return giveUp(state, ctx, "noExtensionProtocol", "the peer does not speak BEP 10");
        attempt.handshake = undefined;
        const ours = encodeExtendedHandshakePayload({ extensions: new Map([["ut_metadata", UT_METADATA_ID]]), client: CLIENT_NAME });
        attempt.socket.write(encodeExtended(0, ours));
        rest = step.rest;
        break;
      }
      default: {
        const unreachable: never = step;
        throw new Error(`metadata_fetch: handshake step ${JSON.stringify(unreachable)}`);
      }
    }
  }
  for (const m of attempt.frames.push(rest)) {
    if (m.type === "violation") return giveUp(state, ctx, "badMessage", m.detail);
    const outcome = m.extId === 0 ? onOffer(state, attempt, ctx, m.payload) : m.extId === UT_METADATA_ID ? onMetadata(state, attempt, ctx, m.payload) : undefined;
    if (outcome !== undefined) return outcome;
  }
  return noreply(state);
}

/** Their extended handshake. */
function onOffer(state: FetchState, attempt: Attempt, ctx: Ctx, payload: Buffer): InfoResult<FetchState> | undefined {
  const parsed = parseExtendedHandshake(payload);
  if (parsed.type === "violation") return giveUp(state, ctx, "badMessage", parsed.detail);
  const offer = judgeOffer(parsed.value);
  if (attempt.assembly !== undefined) {
    // A second extended handshake (BEP 10 allows it): the size stays, the id may change or go.
    if (offer.kind === "giveUp" && offer.why !== "badMetadataSize") return giveUp(state, ctx, offer.why, `${offer.detail} (second extended handshake)`);
    if (offer.kind === "fetch") attempt.theirId = offer.theirId;
    return undefined;
  }
  switch (offer.kind) {
    case "giveUp":
      return giveUp(state, ctx, offer.why, offer.detail);
    case "fetch":
      attempt.theirId = offer.theirId;
      attempt.assembly = new MetadataAssembly(state.args.infoHash, offer.totalSize);
      armPieceTimer(state, attempt, ctx);
      askMore(attempt);
      return undefined;
    default: {
      const unreachable: never = offer;
      throw new Error(`metadata_fetch: offer ${JSON.stringify(unreachable)}`);
    }
  }
}

function onMetadata(state: FetchState, attempt: Attempt, ctx: Ctx, payload: Buffer): InfoResult<FetchState> | undefined {
  const verdict = judgeMessage(parseMetadataMessage(payload));
  switch (verdict.kind) {
    case "ignore":
      return undefined;
    case "giveUp":
      return giveUp(state, ctx, verdict.why, verdict.detail);
    case "refuse":
      if (++attempt.rejectsSent > MAX_REJECTS) return giveUp(state, ctx, "badMessage", `more than ${MAX_REJECTS} requests for metadata we never offered`);
      if (attempt.theirId !== undefined) attempt.socket.write(encodeExtended(attempt.theirId, encodeMetadataReject(verdict.piece)));
      return undefined;
    case "store":
      return store(state, attempt, ctx, verdict.piece, verdict.totalSize, verdict.data);
    default: {
      const unreachable: never = verdict;
      throw new Error(`metadata_fetch: verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

function store(state: FetchState, attempt: Attempt, ctx: Ctx, piece: number, totalSize: number, data: Buffer): InfoResult<FetchState> | undefined {
  const assembly = attempt.assembly;
  if (assembly === undefined) return giveUp(state, ctx, "badMessage", "metadata before the extended handshake");
  if (!attempt.asked.delete(piece)) return giveUp(state, ctx, "badMessage", `metadata piece ${piece} was not asked for`);
  const added = assembly.add(piece, totalSize, data);
  switch (added.kind) {
    case "stored":
    case "duplicate":
      armPieceTimer(state, attempt, ctx);
      askMore(attempt);
      return undefined;
    case "complete":
      return finish(state, ctx, added.infoBytes);
    case "hashMismatch":
      return giveUp(state, ctx, "badMetadata", `SHA-1 ${added.actual}, not the info-hash ${added.expected}`);
    case "inconsistent":
      return giveUp(state, ctx, "badMessage", added.detail);
    default: {
      const unreachable: never = added;
      throw new Error(`metadata_fetch: add ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Keep REQUESTS_IN_FLIGHT pieces asked for. */
function askMore(attempt: Attempt): void {
  const assembly = attempt.assembly;
  const theirId = attempt.theirId;
  if (assembly === undefined || theirId === undefined) return;
  for (const piece of assembly.missing()) {
    if (attempt.asked.size >= REQUESTS_IN_FLIGHT) return;
    if (attempt.asked.has(piece)) continue;
    attempt.asked.add(piece);
    attempt.socket.write(encodeExtended(theirId, encodeMetadataRequest(piece)));
  }
}

function finish(state: FetchState, ctx: Ctx, infoBytes: Buffer): InfoResult<FetchState> {
  endAttempt(state, ctx);
  const fetched: MetadataFetched = { ...statusOf(state), infoBytes };
  for (const from of state.waiters.splice(0)) ctx.replyTo(from, fetched);
  // Callers that come later find nobody (noproc): the one that started us is already waiting.
  return { kind: "stop", reason: Reason.normal, state };
}

function statusOf(state: FetchState): MetadataFetchStatus {
  const a = state.attempt;
  const asm = a?.assembly;
  const asking = a === undefined ? undefined : { peer: `${a.peer.host}:${a.peer.port}`, have: asm === undefined ? 0 : asm.pieceCount - asm.missing().length, of: asm?.pieceCount };
  return { attempts: state.attempts, failures: [...state.failures.values()], asking };
}

/** The peer has `attemptMs` from now for its next piece. */
function armPieceTimer(state: FetchState, attempt: Attempt, ctx: Ctx): void {
  ctx.cancelTimer(attempt.timer);
  attempt.timer = ctx.sendAfter(state.attemptMs, { t: "attemptTimeout", id: attempt.id } satisfies SocketNote);
}

function giveUp(state: FetchState, ctx: Ctx, why: GiveUpReason, detail: string): InfoResult<FetchState> {
  const attempt = state.attempt;
  if (attempt !== undefined) {
    const peer = `${attempt.peer.host}:${attempt.peer.port}`;
    state.failures.set(peer, { peer, why, detail });
  }
  endAttempt(state, ctx);
  if (state.next % state.args.peers.length !== 0) {
    startAttempt(state, ctx);
    return noreply(state);
  }
  // Every peer was asked this round: pause, longer each round.
  ctx.sendAfter(state.pauseMs, { t: "nextRound" });
  state.pauseMs = Math.min(state.pauseMs * 2, MAX_PAUSE_MS);
  return noreply(state);
}

function endAttempt(state: FetchState, ctx: Ctx): void {
  const attempt = state.attempt;
  if (attempt === undefined) return;
  state.attempt = undefined;
  ctx.cancelTimer(attempt.timer);
  ctx.release(attempt.socket);
  attempt.socket.destroy();
}

export function startMetadataFetch(args: MetadataFetchArgs, name?: readonly string[]): Promise<StartResult> {
  return startServer(metadataFetchBehaviour, args, name === undefined ? {} : { name: [...name] });
}
