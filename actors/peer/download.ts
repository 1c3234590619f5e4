/**
 * Our side of the link as a downloader: keep the request pipeline full through the piece
 * manager, give blocks back when we cannot use them.
 *
 * Guarantees:
 * - One pick call at a time; its answer comes back as a mailbox message, so blocks keep
 *   flowing while the piece manager thinks. The call is made from this actor, after every
 *   block it already cast there: when the answer arrives, the manager has taken all of them
 *   (its mailbox cannot fill with our blocks faster than it empties it).
 * - A reservation is never lost: picked blocks that can no longer be requested (the peer
 *   choked us meanwhile, or we lost interest) are handed back at once; a snubbed peer's
 *   requests are cancelled and all its reservations released so other peers take them, and
 *   so are they after a pick call that timed out (the piece manager is overloaded, not gone).
 * - All requests of one pick leave in one write.
 */
import { CallError, type Ctx } from "../../src/runtime/index.js";
import { pieceMgr } from "../pieceMgr.js";
import type { BlockRequest } from "../pieceMgr/picker.js";
import { now, wrote, type PeerConn } from "./conn.js";
import type { ActiveLink } from "./link.js";
import { requestBudget } from "./pipeline.js";

export type PickResult =
  | { readonly t: "picked"; readonly reqs: readonly BlockRequest[] }
  | { readonly t: "pickTimedOut" }
  | { readonly t: "pickFailed"; readonly error: unknown };

const picked = (reqs: readonly BlockRequest[]): PickResult => ({ t: "picked", reqs });
const pickFailed = (error: unknown): PickResult =>
  error instanceof CallError && error.reason.kind === "timeout" ? { t: "pickTimedOut" } : { t: "pickFailed", error };
const asMessage = (msg: PickResult): PickResult => msg;

/** Ask the piece manager for more blocks if the pipeline is at its low-water mark. */
export function refill(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  const mgr = conn.mgr;
  if (link.picking || mgr === undefined) return;
  const budget = requestBudget(
    {
      flags: link.flags,
      outstanding: link.outstanding.size,
      rate: link.downRate.rate(now(ctx)),
      peerQueueLimit: link.peerQueueLimit,
      // We never request while choked (the picker has no allowed-fast scope yet).
      allowedFastWanted: 0,
    },
    conn.config.pipeline,
  );
  if (budget.kind === "wait" || budget.scope !== "any") return;
  link.picking = true;
  ctx.pipe(pieceMgr.pick(ctx, mgr, conn.key, budget.count).then(picked, pickFailed), asMessage);
}

/** The pick call timed out: whatever it reserved is freed, and we ask again. */
export function onPickTimedOut(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  link.picking = false;
  releaseReservations(conn, link, ctx);
  refill(conn, link, ctx);
}

/** The piece manager reserved `reqs` for us: request them, or give them back. */
export function onPicked(conn: PeerConn, link: ActiveLink, ctx: Ctx, reqs: readonly BlockRequest[]): void {
  link.picking = false;
  const mgr = conn.mgr;
  if (mgr === undefined || reqs.length === 0) return;
  const flags = link.flags;
  if (flags.peerChoking || !flags.amInterested) {
    for (const r of reqs) pieceMgr.rejected(ctx, mgr, conn.key, r.piece, r.begin);
    return;
  }
  const out = conn.sock.outbox;
  for (const r of reqs) {
    if (link.outstanding.add(r.piece, r.begin, r.length)) out.request(r.piece, r.begin, r.length);
  }
  link.clock.requestsNow(link.outstanding.size, "requested", now(ctx));
  wrote(conn, ctx);
  refill(conn, link, ctx);
}

/** The piece manager got this block from another peer (endgame): stop waiting for ours. */
export function cancelRequest(conn: PeerConn, link: ActiveLink, ctx: Ctx, index: number, begin: number, length: number): void {
  if (!link.outstanding.delete(index, begin, length)) return;
  conn.sock.outbox.cancel(index, begin, length);
  link.clock.requestsNow(link.outstanding.size, "dropped", now(ctx));
  wrote(conn, ctx);
}

/**
 * Cancel every request we have out and free all our reservations for other peers: the peer
 * sat on our requests past the snub timeout, or a pick call timed out (its late answer is
 * dropped, so what it reserved for us is only released this way: this cast reaches the
 * piece manager after the pick it answers).
 */
export function releaseReservations(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  const out = conn.sock.outbox;
  for (const r of link.outstanding.list()) out.cancel(r.piece, r.begin, r.length);
  link.outstanding.clear();
  link.clock.requestsNow(0, "dropped", now(ctx));
  // peerChoked releases every reservation this peer holds, which is what a snub needs too.
  if (conn.mgr !== undefined) pieceMgr.peerChoked(ctx, conn.mgr, conn.key);
  wrote(conn, ctx);
}
