/** The announcer's knobs, their defaults, and the logger it writes to. */
import { randomBytes } from "node:crypto";
import { log } from "../../src/log.js";
import { DEFAULT_TRACKER_LIMITS } from "../../src/protocol/tracker/index.js";
import type { Backoff } from "./tiers.js";
import { BEP15_TIMING, type UdpTiming } from "./udpSession.js";

/** The part of a pino logger the announcer uses (tests pass a recorder). */
export interface AnnouncerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface AnnouncerOptions {
  /** Replaces the tracker's `interval` (a datacenter profile's 3 s); `min interval` still holds. */
  readonly announceIntervalOverrideMs?: number;
  /** A tracker `interval` below this is raised to it. Default 30 s. */
  readonly minReannounceMs?: number;
  /** Peers asked for per announce. Default 50. */
  readonly numwant?: number;
  /** Per-tracker back-off after a failure: base x 2^(failures-1), capped. Default 15 s, 10 min. */
  readonly backoff?: Backoff;
  /** BEP 15 retransmission schedule and connection-id lifetime. Default 15 s x 2^n, n <= 8; 60 s. */
  readonly udp?: Partial<UdpTiming>;
  /** HTTP: the whole exchange's deadline (default 20 s), redirects followed (default 5), body cap (default 1 MiB). */
  readonly http?: { readonly timeoutMs?: number; readonly maxRedirects?: number; readonly maxBodyBytes?: number };
  /** Peers kept from one reply. Default 1000. */
  readonly maxPeersPerReply?: number;
  /** Budget for the `stopped` announces when the torrent stops. Default 2 s. */
  readonly stopTimeoutMs?: number;
  /** Tier shuffling; default Math.random. */
  readonly random?: () => number;
  /** UDP transaction ids; default crypto-random 32-bit. */
  readonly txid?: () => number;
  readonly logger?: AnnouncerLog;
}

export interface ResolvedOptions {
  readonly overrideMs: number | undefined;
  readonly floorMs: number;
  readonly numwant: number;
  readonly backoff: Backoff;
  readonly udp: UdpTiming;
  readonly http: { readonly timeoutMs: number; readonly maxRedirects: number; readonly maxBodyBytes: number };
  readonly maxPeers: number;
  readonly stopTimeoutMs: number;
  readonly random: () => number;
  readonly txid: () => number;
  readonly log: AnnouncerLog;
}

const cryptoTxid = (): number => randomBytes(4).readUInt32BE(0);

export function resolveOptions(o: AnnouncerOptions = {}): ResolvedOptions {
  return {
    overrideMs: o.announceIntervalOverrideMs,
    floorMs: o.minReannounceMs ?? 30_000,
    numwant: o.numwant ?? 50,
    backoff: o.backoff ?? { baseMs: 15_000, maxMs: 10 * 60_000 },
    udp: { ...BEP15_TIMING, ...o.udp },
    http: {
      timeoutMs: o.http?.timeoutMs ?? 20_000,
      maxRedirects: o.http?.maxRedirects ?? 5,
      maxBodyBytes: o.http?.maxBodyBytes ?? DEFAULT_TRACKER_LIMITS.maxBodyBytes,
    },
    maxPeers: o.maxPeersPerReply ?? DEFAULT_TRACKER_LIMITS.maxPeers,
    stopTimeoutMs: o.stopTimeoutMs ?? 2000,
    random: o.random ?? Math.random,
    txid: o.txid ?? cryptoTxid,
    log: o.logger ?? log,
  };
}
