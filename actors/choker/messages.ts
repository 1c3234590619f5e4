/**
 * What peers and the choker say to each other.
 *
 * A peer reports (a cast to the registered "choker") when its link becomes active, when
 * the peer's interest in us changes, and every `reportMs` after the choker told it so; the
 * first report registers it (the choker monitors it). The choker tells peers to choke or
 * unchoke, and, once, how often to report. Reports carry rates, never blocks: the choker
 * sees a few small messages per peer per round, whatever the traffic.
 */
import { Pid } from "../../src/runtime/index.js";
import type { PeerStats, TorrentMode } from "./rechoke.js";

export const CHOKER = "choker";

/**
 * A peer's stats as the choker ranks them (its id is its pid's), for one torrent. What the
 * peer does now (`unchoked`) is adopted when it registers: a restarted choker starts from the truth.
 */
export interface PeerReport extends Omit<PeerStats, "id"> {
  readonly t: "report";
  readonly pid: Pid;
  readonly infoHash: string;
  readonly mode: TorrentMode;
}

/** The choker's commands to a peer actor (its handleInfo). */
export type ChokerCommand =
  | { readonly type: "choke" }
  | { readonly type: "unchoke" }
  | { readonly type: "reportEvery"; readonly ms: number };

export const CHOKE: ChokerCommand = Object.freeze({ type: "choke" });
export const UNCHOKE: ChokerCommand = Object.freeze({ type: "unchoke" });

export function isChokerCommand(msg: { readonly type: string }): msg is ChokerCommand {
  return msg.type === "choke" || msg.type === "unchoke" || msg.type === "reportEvery";
}

export type ReportCheck = { readonly kind: "valid"; readonly report: PeerReport } | { readonly kind: "invalid"; readonly field: string; readonly detail: string };

const isRate = (x: unknown): boolean => typeof x === "number" && Number.isFinite(x) && x >= 0;

/** The edge check of a report: a peer with a bug must not put NaN into every ranking. */
export function checkReport(msg: PeerReport): ReportCheck {
  const bad = (field: string, value: unknown): ReportCheck => ({ kind: "invalid", field, detail: `${field} = ${String(value)}` });
  if (!(msg.pid instanceof Pid)) return bad("pid", msg.pid);
  if (typeof msg.infoHash !== "string" || msg.infoHash.length === 0) return bad("infoHash", msg.infoHash);
  if (typeof msg.key !== "string") return bad("key", msg.key);
  if (msg.mode !== "leeching" && msg.mode !== "seeding") return bad("mode", msg.mode);
  if (!isRate(msg.downRate)) return bad("downRate", msg.downRate);
  if (!isRate(msg.upRate)) return bad("upRate", msg.upRate);
  if (typeof msg.activeSince !== "number" || !Number.isFinite(msg.activeSince)) return bad("activeSince", msg.activeSince);
  for (const f of ["interested", "snubbed", "unchoked"] as const) if (typeof msg[f] !== "boolean") return bad(f, msg[f]);
  return { kind: "valid", report: msg };
}
