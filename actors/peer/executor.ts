/**
 * The peer actor's executor: performs what the analyzer decided for each wire event, what
 * the piece manager's notices ask, and what the link clock says is due. It switches
 * exhaustively on each tagged union; a decision to end the link comes back as a LinkEnd
 * (the actor turns it into its exit), never as a throw.
 *
 * Guarantees:
 * - Input is drained within a turn budget: at most `turnBudget` wire messages per turn; the
 *   rest waits for a CONTINUE message while the socket is held, so one peer cannot keep
 *   this actor (or the scheduler) busy, and what it sent is not buffered without bound.
 * - Refills and upload reads are decided once per drained input, not once per message.
 * - The piece manager gets each peer piece set as its own copy: our `theirs` keeps growing
 *   with haves, which the manager learns one by one (peerHave).
 */
import type { Ctx } from "../../src/runtime/index.js";
import type { PeerNotice } from "../pieceMgr.js";
import { pieceMgr } from "../pieceMgr.js";
import { analyzeWire, openingAfter, type WireVerdict } from "./analyze.js";
import { CONTINUE, now, setInterest, TICK, wrote, type PeerConn } from "./conn.js";
import { cancelRequest, refill, releaseReservations } from "./download.js";
import { interestChange } from "./interest.js";
import type { ActiveLink, LinkEnd } from "./link.js";
import { peerInterestChanged } from "./chokerLink.js";
import { dropUpload, pumpReads, queueUpload } from "./upload.js";
import { answerMetadata, type MetadataAnswer } from "./metadataServe.js";
import { encodeExtended } from "../../src/protocol/wire/index.js";
import { METADATA_PIECE_BYTES, encodeMetadataData, encodeMetadataReject, metadataPieceLength, parseMetadataMessage } from "../../src/protocol/wire/metadata.js";

const REDUNDANT: LinkEnd = { why: "redundant", detail: "both ends have every piece" };

/** Decode and execute what the peer sent, up to the turn budget. */
export function drainWire(conn: PeerConn, link: ActiveLink, ctx: Ctx): LinkEnd | undefined {
  const decoder = link.decoder;
  const budget = conn.config.turnBudget;
  for (let n = 0; n < budget; n++) {
    const event = decoder.next();
    if (event === undefined) {
      conn.sock.release();
      afterInput(conn, link, ctx);
      return undefined;
    }
    const end = executeWire(conn, link, ctx, analyzeWire(link, event));
    if (end !== undefined) return end;
    link.opening = openingAfter(link.opening, event);
  }
  conn.sock.hold();
  if (!link.decodePending) {
    link.decodePending = true;
    ctx.deliver(CONTINUE);
  }
  afterInput(conn, link, ctx);
  return undefined;
}

function afterInput(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  refill(conn, link, ctx);
  pumpReads(conn, link, ctx);
  conn.sock.checkBacklog();
}

export function executeWire(conn: PeerConn, link: ActiveLink, ctx: Ctx, v: WireVerdict): LinkEnd | undefined {
  const out = conn.sock.outbox;
  const mgr = conn.mgr;
  switch (v.kind) {
    case "close":
      return v.reason === "violation" ? { why: "violation", detail: v.detail, violation: v.violation } : { why: v.reason, detail: v.detail };
    case "peerPieces":
      link.theirs = v.set;
      if (mgr !== undefined) pieceMgr.peerPieces(ctx, mgr, conn.key, v.set.clone());
      if (v.interest !== undefined) setInterest(conn, ctx, v.interest);
      return bothSeeds(link);
    case "peerHas":
      link.theirs.set(v.index);
      if (mgr !== undefined) pieceMgr.peerHave(ctx, mgr, conn.key, v.index);
      if (v.interest !== undefined) setInterest(conn, ctx, v.interest);
      return bothSeeds(link);
    case "stateChange":
      conn.machine.send(v.event);
      if (v.event.type !== "PEER_UNCHOKE") peerInterestChanged(conn, link, ctx);
      return undefined;
    case "choked":
      conn.machine.send(v.event);
      // Without fast the peer dropped every request (BEP 3): all our reservations go back.
      // With fast each request still gets its own reject or block (abandoned is empty).
      if (v.abandoned.length > 0) {
        link.outstanding.clear();
        link.clock.requestsNow(0, "dropped", now(ctx));
        if (mgr !== undefined) pieceMgr.peerChoked(ctx, mgr, conn.key);
      }
      return undefined;
    case "block": {
      link.outstanding.delete(v.index, v.begin, v.block.length);
      const t = now(ctx);
      link.downRate.add(v.block.length, t);
      link.clock.requestsNow(link.outstanding.size, "block", t);
      if (mgr !== undefined) pieceMgr.block(ctx, mgr, conn.key, v.index, v.begin, v.block);
      if (v.unsnub !== undefined) conn.machine.send(v.unsnub);
      return undefined;
    }
    case "unrequestedBlock":
      conn.ts.counters.wastedBlocks++;
      return undefined;
    case "serve":
      queueUpload(link, v.index, v.begin, v.length);
      return undefined;
    case "rejectRequest":
      out.reject(v.index, v.begin, v.length);
      wrote(conn, ctx);
      return undefined;
    case "dropRequest":
      return undefined;
    case "cancelServe":
      dropUpload(link, v.index, v.begin, v.length);
      if (v.answer === "reject") {
        out.reject(v.index, v.begin, v.length);
        wrote(conn, ctx);
      }
      return undefined;
    case "requestRejected":
      link.outstanding.delete(v.index, v.begin, v.length);
      link.clock.requestsNow(link.outstanding.size, "dropped", now(ctx));
      if (mgr !== undefined) pieceMgr.rejected(ctx, mgr, conn.key, v.index, v.begin);
      return undefined;
    case "allowedFast": // we request only when unchoked (shortcut: the picker has no allowed-fast scope)
    case "suggest": // the picker's rarest-first order stands
    case "ignore":
      return undefined;
    case "extension":
      if (v.name === "ut_metadata") {
        serveMetadata(conn, ctx, answerMetadata(parseMetadataMessage(v.payload), { offer: conn.metadataOffer, theirId: link.theirMetadataId, backlog: conn.sock.unsent }));
      }
      return undefined;
    case "extendedHandshake":
      link.peerQueueLimit = v.handshake.requestQueue;
      link.theirMetadataId = v.handshake.extensions.get("ut_metadata");
      return undefined;
    default: {
      const unreachable: never = v;
      throw new Error(`peer executor: unhandled verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

function bothSeeds(link: ActiveLink): LinkEnd | undefined {
  return link.ours.complete && link.theirs.complete ? REDUNDANT : undefined;
}

/** What the piece manager tells us. */
export function executeNotice(conn: PeerConn, link: ActiveLink, ctx: Ctx, notice: PeerNotice): LinkEnd | undefined {
  switch (notice.type) {
    case "cancelBlock":
      cancelRequest(conn, link, ctx, notice.index, notice.begin, notice.length);
      return undefined;
    case "weHave": {
      conn.sock.outbox.have(notice.index);
      wrote(conn, ctx);
      const change = interestChange(link.ours, link.theirs, link.flags.amInterested);
      if (change !== undefined) setInterest(conn, ctx, change);
      return bothSeeds(link);
    }
    case "moreBlocks":
      refill(conn, link, ctx);
      return undefined;
    case "banned":
      return { why: "banned", detail: `${notice.strikes} strikes for data that failed the hash` };
    default: {
      const unreachable: never = notice;
      throw new Error(`peer executor: unhandled notice ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Keep the one liveness timer armed for the earliest thing the link clock may have to say. */
export function armTick(link: ActiveLink, ctx: Ctx): void {
  const at = link.clock.nextCheckAt(link.flags);
  if (at >= link.tickAt) return;
  if (link.tick !== undefined) ctx.cancelTimer(link.tick);
  link.tickAt = at;
  link.tick = ctx.sendAfter(Math.max(0, at - now(ctx)), TICK);
}

export function onTick(conn: PeerConn, link: ActiveLink, ctx: Ctx): LinkEnd | undefined {
  link.tick = undefined;
  link.tickAt = Infinity;
  const t = now(ctx);
  for (const action of link.clock.check(t, link.flags)) {
    switch (action.kind) {
      case "close":
        return { why: "inactive", detail: `nothing received for ${Math.round(action.silentMs)} ms` };
      case "snub":
        conn.machine.send(action.event);
        releaseReservations(conn, link, ctx);
        refill(conn, link, ctx);
        break;
      case "keepAlive":
        conn.sock.outbox.keepAlive();
        link.clock.sent(t);
        wrote(conn, ctx);
        break;
      default: {
        const unreachable: never = action;
        throw new Error(`peer executor: unhandled liveness action ${JSON.stringify(unreachable)}`);
      }
    }
  }
  armTick(link, ctx);
  return undefined;
}

function serveMetadata(conn: PeerConn, ctx: Ctx, answer: MetadataAnswer): void {
  const out = conn.sock.outbox;
  switch (answer.kind) {
    case "ignore":
      return;
    case "send": {
      const info = conn.ts.meta.infoBytes;
      const begin = answer.piece * METADATA_PIECE_BYTES;
      const bytes = info.subarray(begin, begin + metadataPieceLength(info.length, answer.piece));
      out.raw(encodeExtended(answer.theirId, encodeMetadataData(answer.piece, info.length, bytes)));
      break;
    }
    case "reject":
      out.raw(encodeExtended(answer.theirId, encodeMetadataReject(answer.piece)));
      break;
    default: {
      const unreachable: never = answer;
      throw new Error(`peer: metadata answer ${JSON.stringify(unreachable)}`);
    }
  }
  wrote(conn, ctx);
}
