/**
 * piece_mgr: one per torrent. Decides which blocks each peer fetches (PiecePicker), assembles
 * arriving blocks into pieces, has complete pieces hashed and written, and only then marks
 * them have and tells every peer (HAVE).
 *
 * Guarantees:
 * - Invariant 1: `state.have` is set after the SHA-1 matched AND every file write of the
 *   piece returned (TorrentIo.writePiece resolves after the last positional write).
 * - Memory is bounded: at most `maxPiecesInFlight` pieces are started and not yet verified
 *   and written (default: 64 MiB worth of pieces, at least 4, at most 4096), so assembly,
 *   hashing and writing together hold <= 64 MiB of piece data (a piece stays in flight
 *   until pieceDone / pieceFailed), plus at most POOL_BYTES (16 MiB) of free buffers kept
 *   for reuse (src/storage/bufferPool.ts).
 * - No peer starves at the cap: a pick that came back short marks the peer starved, and it
 *   is woken (moreBlocks) as soon as a piece leaves flight. Without this, one-block pieces
 *   stall: every slot is taken by pieces being written, the peer has nothing outstanding,
 *   and no block arrives to make it ask again.
 * - It monitors every peer that joins: when a peer dies, for whatever reason, its reserved
 *   blocks are released at once and the other peers are woken to take them.
 * - Smart ban (as libtorrent's): when a piece fails its hash, the SHA-1 of each of its blocks
 *   is kept with who sent it; when the piece later passes, every sender whose block differed
 *   from the good bytes gets a strike. Two strikes and the peer's host is banned for this
 *   torrent and its actor told to close. An honest peer that merely shared a piece with a
 *   liar is never blamed.
 *
 * Messages (all casts, except pick): peerJoined, peerPieces, peerHave, peerChoked,
 * rejected, block; pick is a call answering BlockRequest[]. It sends to peers (handleInfo):
 * PeerNotice below.
 */
import { createHash } from "node:crypto";
import {
  DownMsg,
  defineServer,
  noreply,
  ok,
  reply,
  startServer,
  type Ctx,
  type From,
  type Name,
  type Pid,
  type Runtime,
  type StartResult,
  assertNever,
} from "../src/runtime/index.js";
import { log } from "../src/log.js";
import { PieceAssembly } from "./pieceMgr/assembly.js";
import { BufferPool } from "../src/storage/bufferPool.js";
import { BLOCK_SIZE, PiecePicker, hostOfPeer, type BlockRequest, type BlockVerdict, type PeerKey, type PieceSet } from "./pieceMgr/picker.js";
import { names, type TorrentState } from "./torrentState.js";

/**
 * How a piece's bytes reach the disk; TorrentIo implements it. Resolves after every write
 * returned, and keeps no reference to `data` after that: piece_mgr reuses the buffer.
 */
export interface PieceWriter {
  writePiece(ctx: Ctx, piece: number, data: Buffer): Promise<void>;
}

export interface PieceMgrArgs {
  readonly state: TorrentState;
  readonly writer: PieceWriter;
  /** Default: IN_FLIGHT_BYTES worth of pieces (at least 4, at most 4096). */
  readonly maxPiecesInFlight?: number;
  /** Strikes before a peer's host is banned (default 2). */
  readonly banAfter?: number;
  readonly random?: () => number;
  /** Called just before a piece is marked have (swarm runs read it back from disk: src/swarm/audit.ts). */
  readonly audit?: PieceAudit;
}

export type PieceAudit = (state: TorrentState, piece: number) => void;

/** What the piece manager tells a peer actor (its handleInfo). */
export type PeerNotice =
  | { readonly type: "cancelBlock"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "weHave"; readonly index: number }
  | { readonly type: "moreBlocks" }
  | { readonly type: "banned"; readonly strikes: number };

type Cast =
  | { readonly t: "peerJoined"; readonly peer: PeerKey; readonly pid: Pid }
  | { readonly t: "peerPieces"; readonly peer: PeerKey; readonly set: PieceSet }
  | { readonly t: "peerHave"; readonly peer: PeerKey; readonly index: number }
  | { readonly t: "peerChoked"; readonly peer: PeerKey }
  | { readonly t: "rejected"; readonly peer: PeerKey; readonly index: number; readonly begin: number }
  | { readonly t: "block"; readonly peer: PeerKey; readonly index: number; readonly begin: number; readonly data: Buffer }
  /** The controller's check added pieces to TorrentState.have. */
  | { readonly t: "resync" };

type Call = { readonly t: "pick"; readonly peer: PeerKey; readonly max: number };

/** Results of the piece's hash-and-write, back in the mailbox. */
type Info =
  | DownMsg
  | { readonly t: "hashed"; readonly piece: number; readonly digest: Buffer; readonly data: Buffer }
  | { readonly t: "written"; readonly piece: number; readonly data: Buffer };

interface PeerRecord {
  readonly pid: Pid;
  readonly host: string;
}

interface MgrState {
  readonly ts: TorrentState;
  readonly writer: PieceWriter;
  readonly picker: PiecePicker;
  readonly banAfter: number;
  readonly audit: PieceAudit | undefined;
  readonly peers: Map<PeerKey, PeerRecord>;
  readonly byPid: Map<number, PeerKey>;
  readonly assembling: Map<number, PieceAssembly>;
  /** Buffers of pieces that were written, failed or dropped, for the next pieces. */
  readonly buffers: BufferPool;
  /** Pieces that failed once: per block, who sent it and the SHA-1 of what they sent. */
  readonly suspects: Map<number, { block: number; host: string; digest: Buffer }[]>;
  /** Peers whose last pick came back short: woken when a piece leaves flight. */
  readonly starved: Set<PeerKey>;
}

/** Piece data held by one torrent's piece manager at most (assembling, hashing, writing). */
export const IN_FLIGHT_BYTES = 64 * 1024 * 1024;

export function defaultPiecesInFlight(pieceLength: number): number {
  return Math.min(4096, Math.max(4, Math.floor(IN_FLIGHT_BYTES / pieceLength)));
}

const empty: PieceSet = { has: () => false };

export const pieceMgrBehaviour = defineServer<MgrState, PieceMgrArgs, Call, Cast, Info>({
  name: "piece_mgr",

  init(args) {
    const ts = args.state;
    const picker = new PiecePicker({
      pieceCount: ts.meta.pieceCount,
      pieceLength: ts.meta.pieceLength,
      totalLength: ts.meta.length,
      maxPiecesInFlight: args.maxPiecesInFlight ?? defaultPiecesInFlight(ts.meta.pieceLength),
      ...(args.random === undefined ? {} : { random: args.random }),
    });
    // A restarted piece manager starts from what is verified and written: nothing is lost
    // but the pieces that were being assembled, which are fetched again.
    for (const i of ts.have.indices()) picker.markHave(i);
    return ok({
      ts,
      writer: args.writer,
      picker,
      banAfter: args.banAfter ?? 2,
      audit: args.audit,
      peers: new Map(),
      byPid: new Map(),
      assembling: new Map(),
      buffers: new BufferPool(),
      suspects: new Map(),
      starved: new Set(),
    });
  },

  handleCall(req: Call, _from: From, s) {
    switch (req.t) {
      case "pick": {
        if (!s.peers.has(req.peer)) return reply([], s);
        // Until the start-up check has said what is on disk, any block handed out may be of a
        // piece we already have (invariant 5): the peer waits, starved, and resync wakes it.
        if (!s.ts.checked) {
          s.starved.add(req.peer);
          return reply([], s);
        }
        const blocks = s.picker.pick(req.peer, req.max);
        if (blocks.length < req.max) s.starved.add(req.peer);
        else s.starved.delete(req.peer);
        return reply(blocks, s);
      }
      default:
        return assertNever(req.t, "piece_mgr call");
    }
  },

  handleCast(msg: Cast, s, ctx) {
    switch (msg.t) {
      case "peerJoined": {
        const host = hostOfPeer(msg.peer);
        if (s.ts.banned.has(host)) {
          ctx.send(msg.pid, notice({ type: "banned", strikes: s.ts.strikes.get(host) ?? 0 }));
          break;
        }
        const old = s.peers.get(msg.peer);
        if (old !== undefined) forgetPeer(s, msg.peer, ctx);
        ctx.monitor(msg.pid);
        s.peers.set(msg.peer, { pid: msg.pid, host });
        s.byPid.set(msg.pid.id, msg.peer);
        s.picker.peerJoined(msg.peer, empty);
        break;
      }
      case "peerPieces":
        if (s.peers.has(msg.peer)) s.picker.peerBitfield(msg.peer, msg.set);
        break;
      case "peerHave":
        if (s.peers.has(msg.peer) && msg.index >= 0 && msg.index < s.picker.pieceCount) s.picker.peerHave(msg.peer, msg.index);
        break;
      case "peerChoked":
        if (s.picker.peerChoked(msg.peer) > 0) wakeOthers(s, msg.peer, ctx);
        break;
      case "rejected":
        s.picker.requestRejected(msg.peer, msg.index, msg.begin);
        wakeOthers(s, msg.peer, ctx);
        break;
      case "block":
        onBlockReceived(s, msg.peer, msg.index, msg.begin, msg.data, ctx);
        break;
      case "resync":
        resync(s, ctx);
        break;
      default:
        return assertNever(msg, "piece_mgr cast");
    }
    return noreply(s);
  },

  handleInfo(msg: Info, s, ctx) {
    if (msg instanceof DownMsg) {
      const peer = s.byPid.get(msg.pid.id);
      if (peer !== undefined && s.peers.get(peer)?.pid.id === msg.pid.id) forgetPeer(s, peer, ctx);
      return noreply(s);
    }
    switch (msg.t) {
      case "hashed":
        onPieceHashed(s, msg.piece, msg.digest, msg.data, ctx);
        break;
      case "written":
        onPieceWritten(s, msg.piece, msg.data, ctx);
        break;
      default:
        return assertNever(msg, "piece_mgr info");
    }
    return noreply(s);
  },
});

// ---- the byte path ---------------------------------------------------------------------

function onBlockReceived(s: MgrState, peer: PeerKey, index: number, begin: number, data: Buffer, ctx: Ctx): void {
  const verdict: BlockVerdict = s.picker.onBlock(peer, index, begin, data.length);
  switch (verdict.kind) {
    case "duplicate":
    case "unrequested":
      s.ts.counters.wastedBlocks++;
      return;
    case "stored":
      storeBlock(s, index, begin, data);
      cancelAt(s, verdict.cancelFrom, index, begin, data.length, ctx);
      return;
    case "pieceComplete": {
      const piece = storeBlock(s, index, begin, data);
      cancelAt(s, verdict.cancelFrom, index, begin, data.length, ctx);
      s.assembling.delete(index);
      // Hashed on this actor's turn, block by block as they came (assembly.ts): cheaper than
      // the pool, whose copy or transfer costs more than the hash of bytes still in cache,
      // and the seed needs the other core.
      ctx.deliver({ t: "hashed", piece: index, digest: piece.digest(), data: piece.data } satisfies Info);
      return;
    }
    default:
      return assertNever(verdict, "block verdict");
  }
}

function storeBlock(s: MgrState, index: number, begin: number, data: Buffer): PieceAssembly {
  let piece = s.assembling.get(index);
  if (piece === undefined) {
    piece = new PieceAssembly(s.buffers.take(s.picker.pieceSize(index)));
    s.assembling.set(index, piece);
  }
  piece.store(begin, data);
  return piece;
}

function onPieceHashed(s: MgrState, piece: number, digest: Buffer, data: Buffer, ctx: Ctx): void {
  const expected = s.ts.meta.pieceHashes.subarray(piece * 20, piece * 20 + 20);
  if (!digest.equals(expected)) {
    s.ts.counters.hashFails++;
    rememberSuspects(s, piece, data, s.picker.pieceFailed(piece));
    log.warn({ infoHash: s.ts.infoHashHex, piece }, "piece failed its hash; fetching it again");
    s.buffers.give(data);
    wakeOthers(s, undefined, ctx);
    return;
  }
  judgeSuspects(s, piece, data, ctx);
  ctx.pipe(s.writer.writePiece(ctx, piece, data), () => ({ t: "written", piece, data }) satisfies Info);
}

function onPieceWritten(s: MgrState, piece: number, data: Buffer, ctx: Ctx): void {
  const bytes = data.length;
  s.buffers.give(data); // every write of it returned: nothing refers to it any more
  s.picker.pieceDone(piece);
  wakeStarved(s, ctx);
  if (!s.ts.have.has(piece)) {
    s.audit?.(s.ts, piece);
    s.ts.have.set(piece);
    s.ts.counters.downloaded += bytes;
  }
  for (const pid of ctx.runtime.members(names.peers(s.ts.infoHashHex))) ctx.send(pid, notice({ type: "weHave", index: piece }));
  if (s.picker.isComplete) ctx.cast(names.torrentCtl(s.ts.infoHashHex), { t: "downloadComplete" });
}

/** Take up pieces the check found, and announce them to the peers already connected. */
function resync(s: MgrState, ctx: Ctx): void {
  wakeStarved(s, ctx); // peers that asked during the check
  const found: number[] = [];
  for (const i of s.ts.have.indices()) {
    if (s.picker.hasPiece(i)) continue;
    s.picker.markHave(i);
    const dropped = s.assembling.get(i);
    if (dropped !== undefined) s.buffers.give(dropped.data);
    s.assembling.delete(i);
    found.push(i);
  }
  if (found.length === 0) return;
  const peers = ctx.runtime.members(names.peers(s.ts.infoHashHex));
  for (const pid of peers) for (const index of found) ctx.send(pid, notice({ type: "weHave", index }));
  if (s.picker.isComplete) ctx.cast(names.torrentCtl(s.ts.infoHashHex), { t: "downloadComplete" });
}

// ---- smart ban -------------------------------------------------------------------------

function rememberSuspects(s: MgrState, piece: number, data: Buffer, senders: readonly (PeerKey | undefined)[]): void {
  const list = s.suspects.get(piece) ?? [];
  for (let b = 0; b < senders.length; b++) {
    const peer = senders[b];
    if (peer === undefined) continue;
    const block = data.subarray(b * BLOCK_SIZE, Math.min(data.length, (b + 1) * BLOCK_SIZE));
    list.push({ block: b, host: hostOfPeer(peer), digest: createHash("sha1").update(block).digest() });
  }
  // Bounded: a piece that failed many times keeps only its latest few failures' records.
  s.suspects.set(piece, list.slice(-4 * senders.length));
}

function judgeSuspects(s: MgrState, piece: number, good: Buffer, ctx: Ctx): void {
  const list = s.suspects.get(piece);
  if (list === undefined) return;
  s.suspects.delete(piece);
  const guilty = new Set<string>();
  for (const { block: b, host, digest } of list) {
    const block = good.subarray(b * BLOCK_SIZE, Math.min(good.length, (b + 1) * BLOCK_SIZE));
    if (!createHash("sha1").update(block).digest().equals(digest)) guilty.add(host);
  }
  for (const host of guilty) {
    const strikes = (s.ts.strikes.get(host) ?? 0) + 1;
    s.ts.strikes.set(host, strikes);
    if (strikes < s.banAfter) continue;
    s.ts.banned.add(host);
    log.warn({ infoHash: s.ts.infoHashHex, host, strikes }, "banning a peer host that sent bad data");
    for (const rec of s.peers.values()) if (rec.host === host) ctx.send(rec.pid, notice({ type: "banned", strikes }));
  }
}

// ---- peers -----------------------------------------------------------------------------

function forgetPeer(s: MgrState, peer: PeerKey, ctx: Ctx): void {
  const rec = s.peers.get(peer);
  s.peers.delete(peer);
  s.starved.delete(peer);
  if (rec !== undefined) s.byPid.delete(rec.pid.id);
  if (s.picker.peerGone(peer) > 0) wakeOthers(s, peer, ctx);
}

/** Blocks were freed: every peer but `except` (undefined: all of them) may take them. */
function wakeOthers(s: MgrState, except: PeerKey | undefined, ctx: Ctx): void {
  for (const [key, rec] of s.peers) if (key !== except) ctx.send(rec.pid, notice({ type: "moreBlocks" }));
}

/** A slot in flight freed: the peers that found nothing at the cap may find something now. */
function wakeStarved(s: MgrState, ctx: Ctx): void {
  if (s.starved.size === 0) return;
  for (const peer of s.starved) {
    const rec = s.peers.get(peer);
    if (rec !== undefined) ctx.send(rec.pid, notice({ type: "moreBlocks" }));
  }
  s.starved.clear();
}


function cancelAt(s: MgrState, peers: readonly PeerKey[], index: number, begin: number, length: number, ctx: Ctx): void {
  for (const p of peers) {
    const rec = s.peers.get(p);
    if (rec !== undefined) ctx.send(rec.pid, notice({ type: "cancelBlock", index, begin, length }));
  }
}

const notice = (n: PeerNotice): PeerNotice => n;

// ---- API (what peers and the tree call) -------------------------------------------------

/** Started by torrent_sup (linked to it); `runtime` only when started from outside any actor (tests). */
export function startPieceMgr(args: PieceMgrArgs, runtime?: Runtime): Promise<StartResult> {
  return startServer(pieceMgrBehaviour, args, { name: names.pieceMgr(args.state.infoHashHex), ...(runtime === undefined ? {} : { runtime }) });
}

type Target = Pid | Name;

export const pieceMgr = {
  /** `peer` is the connection's `host:port`; the piece manager monitors the calling actor. */
  peerJoined: (ctx: Ctx, mgr: Target, peer: PeerKey): void => ctx.cast(mgr, { t: "peerJoined", peer, pid: ctx.self } satisfies Cast),
  peerPieces: (ctx: Ctx, mgr: Target, peer: PeerKey, set: PieceSet): void => ctx.cast(mgr, { t: "peerPieces", peer, set } satisfies Cast),
  peerHave: (ctx: Ctx, mgr: Target, peer: PeerKey, index: number): void => ctx.cast(mgr, { t: "peerHave", peer, index } satisfies Cast),
  peerChoked: (ctx: Ctx, mgr: Target, peer: PeerKey): void => ctx.cast(mgr, { t: "peerChoked", peer } satisfies Cast),
  rejected: (ctx: Ctx, mgr: Target, peer: PeerKey, index: number, begin: number): void =>
    ctx.cast(mgr, { t: "rejected", peer, index, begin } satisfies Cast),
  block: (ctx: Ctx, mgr: Target, peer: PeerKey, index: number, begin: number, data: Buffer): void =>
    ctx.cast(mgr, { t: "block", peer, index, begin, data } satisfies Cast),
  pick: (ctx: Ctx, mgr: Target, peer: PeerKey, max: number): Promise<BlockRequest[]> =>
    ctx.call<BlockRequest[]>(mgr, { t: "pick", peer, max } satisfies Call),
};
