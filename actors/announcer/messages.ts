/** The announcer's protocol: what callers send it, and what its own sockets and timers deliver. */
import type { HttpGetOutcome } from "./httpGet.js";

export type AnnouncerCall = { readonly t: "status" };

export type AnnouncerCast =
  /** From torrent_ctl when the download completes: trackers hear `completed`. */
  | { readonly t: "completed" }
  /** Announce now to the first tracker that is not backing off (libtorrent's force_reannounce). */
  | { readonly t: "announceNow" };

export type AnnouncerInfo =
  /** The torrent's check ended (or torrent_ctl could not say: announce anyway). */
  | { readonly t: "checked"; readonly wait: { readonly kind: "checked" } | { readonly kind: "unknown"; readonly why: string } }
  | { readonly t: "due"; readonly seq: number }
  | { readonly t: "http"; readonly id: number; readonly outcome: HttpGetOutcome }
  /** `socket`: which of the sockets this actor opened (a replaced one's late events are ignored). */
  | { readonly t: "udpPacket"; readonly socket: number; readonly packet: Buffer; readonly address: string; readonly port: number }
  | { readonly t: "udpTimeout"; readonly id: number; readonly txid: number; readonly n: number }
  | { readonly t: "udpSendFailed"; readonly id: number; readonly why: string }
  | { readonly t: "udpSocketFailed"; readonly socket: number; readonly why: string };

export interface TrackerStatus {
  readonly href: string;
  readonly tier: number;
  readonly failures: number;
  /** Runtime clock ms; 0 = not backing off. */
  readonly retryAt: number;
  readonly lastFailure: string | undefined;
  readonly startedSent: boolean;
  readonly completedSent: boolean;
}

export interface AnnouncerStatus {
  readonly trackers: readonly TrackerStatus[];
  /** Announces a tracker answered. */
  readonly answered: number;
  /** Announces that failed (each retry counts). */
  readonly failed: number;
  /** Peers handed to torrent_ctl so far. */
  readonly peersFound: number;
  /** The tracker being asked now. */
  readonly asking: string | undefined;
}
