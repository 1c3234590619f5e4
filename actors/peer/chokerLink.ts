/**
 * The peer's side of the choker (actors/choker.ts): who decides whether we upload to this
 * peer, and what the choker learns about the link.
 *
 * Guarantees:
 * - When the node runs a choker, the choker decides: the link reports when it becomes
 *   active, when the peer's interest in us changes (the choker rechokes at once), and every
 *   `reportEvery` ms once the choker asked -- rates from the link's meters, never a message
 *   per block. Commands are obeyed as changes only (obeyChoker).
 * - When no choker runs (a peer started on its own, as in the actor tests), the link falls
 *   back to unchoking every interested peer (unchokePolicy.ts `uploadSlot`), and nothing
 *   is reported or timed. A choker that appears later is told at the next interest change;
 *   one that restarts hears the periodic reports and registers the link again.
 */
import type { Ctx } from "../../src/runtime/index.js";
import { choker } from "../choker.js";
import type { ChokerCommand } from "../choker/messages.js";
import { CHOKER_REPORT, now, type PeerConn } from "./conn.js";
import type { ActiveLink } from "./link.js";
import { obeyChoker } from "./unchokePolicy.js";
import { applyUploadSlot, setUploadSlot } from "./upload.js";

/** The link became active: register with the choker, if the node runs one. */
export function joinChoker(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  if (choker.running(ctx)) reportToChoker(conn, link, ctx);
}

/** The peer became interested or lost interest. */
export function peerInterestChanged(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  if (choker.running(ctx)) reportToChoker(conn, link, ctx);
  else applyUploadSlot(conn, link, ctx);
}

export function reportToChoker(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  const t = now(ctx);
  const flags = link.flags;
  choker.report(ctx, {
    infoHash: conn.ts.infoHashHex,
    key: conn.key,
    mode: conn.ts.have.complete ? "seeding" : "leeching",
    interested: flags.peerInterested,
    snubbed: flags.snubbed,
    downRate: link.downRate.rate(t),
    upRate: link.upRate.rate(t),
    activeSince: link.activeSince,
    unchoked: !flags.amChoking,
  });
}

/** Longest and shortest report cadence we accept from a choker. */
const REPORT_MS_MIN = 50;
const REPORT_MS_MAX = 600_000;

export function onChokerCommand(conn: PeerConn, link: ActiveLink, ctx: Ctx, command: ChokerCommand): void {
  switch (command.type) {
    case "choke":
    case "unchoke":
      setUploadSlot(conn, link, ctx, obeyChoker(link.flags, command));
      return;
    case "reportEvery": {
      const ms = Number.isFinite(command.ms) ? Math.min(REPORT_MS_MAX, Math.max(REPORT_MS_MIN, Math.round(command.ms))) : REPORT_MS_MAX;
      if (link.chokerReport !== undefined) ctx.cancelTimer(link.chokerReport);
      link.chokerReport = ctx.sendInterval(ms, CHOKER_REPORT);
      return;
    }
    default: {
      const unreachable: never = command;
      throw new Error(`peer: unexpected choker command ${JSON.stringify(unreachable)}`);
    }
  }
}
