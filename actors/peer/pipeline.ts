/**
 * How many block requests one link keeps in flight, and when to ask for more.
 *
 * Depth follows libtorrent's request-queue time: keep `queueTimeMs` of transfer at the
 * measured download rate requested, `desired = rate x queueTime / blockSize`, clamped to
 * [minDepth, maxDepth] and to the peer's own queue (`reqq`). Measured on this machine
 * (DESIGN.md): 64-256 requests in flight fill loopback and 1024 is slower, hence
 * maxDepth 256. A snubbed peer gets one request at a time (libtorrent does the same), so
 * a stalled link holds one block hostage, not a pipeline's worth.
 *
 * Refill at low water: ask again only once `outstanding` has fallen to half of `desired`,
 * then top up to `desired`. Each refill costs a picker call (a scan of the pieces when it
 * starts a new one) and a socket write; topping up after every block would pay both per
 * 16 KiB. Waiting for half keeps that to about two refills per `desired` blocks, and the
 * half still in flight covers queueTime / 2 (1.5 s) at the measured rate -- far longer
 * than a round trip -- so the link does not run dry while the refill is prepared.
 *
 * Pure: the caller passes the rate (from a RateMeter) and the counts.
 */

import { BLOCK_SIZE } from "../pieceMgr/picker.js";
import type { LinkFlags } from "./machine.js";

/** How many of the peer's requests we queue: what we advertise as `reqq` (BEP 10). */
export const DEFAULT_UPLOAD_QUEUE_BOUND = 250;

export interface PipelineConfig {
  /** Transfer time to keep requested (libtorrent's request_queue_time, 3 s). */
  readonly queueTimeMs: number;
  readonly minDepth: number;
  readonly maxDepth: number;
  readonly blockSize: number;
}

export const DEFAULT_PIPELINE: PipelineConfig = {
  queueTimeMs: 3000,
  minDepth: 2,
  maxDepth: 256,
  blockSize: BLOCK_SIZE,
};

/** A config with the defaults filled in, refused when it cannot work. */
export function pipelineConfig(overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  const cfg = { ...DEFAULT_PIPELINE, ...overrides };
  const positive = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
  if (!positive(cfg.queueTimeMs)) throw new RangeError(`pipeline: queueTimeMs must be a positive integer, got ${cfg.queueTimeMs}`);
  if (!positive(cfg.blockSize)) throw new RangeError(`pipeline: blockSize must be a positive integer, got ${cfg.blockSize}`);
  if (!positive(cfg.minDepth) || !positive(cfg.maxDepth) || cfg.minDepth > cfg.maxDepth) {
    throw new RangeError(`pipeline: need 1 <= minDepth <= maxDepth, got ${cfg.minDepth}..${cfg.maxDepth}`);
  }
  return cfg;
}

/**
 * Requests to keep in flight at `rateBytesPerSecond`. `peerLimit` is the peer's `reqq`
 * when it sent one; it lowers the ceiling (and the floor, if it is below minDepth).
 */
export function desiredDepth(rateBytesPerSecond: number, cfg: PipelineConfig = DEFAULT_PIPELINE, peerLimit?: number): number {
  const ceiling = peerLimit === undefined ? cfg.maxDepth : Math.max(1, Math.min(cfg.maxDepth, peerLimit));
  const floor = Math.min(cfg.minDepth, ceiling);
  const rate = rateBytesPerSecond > 0 ? rateBytesPerSecond : 0; // also maps NaN to 0
  const wanted = Math.floor((rate * cfg.queueTimeMs) / 1000 / cfg.blockSize);
  return Math.min(ceiling, Math.max(floor, wanted));
}

/** At or below this many outstanding requests a link with `desired` depth refills. */
export function lowWater(desired: number): number {
  return Math.floor(desired / 2);
}

export interface PipelineInput {
  readonly flags: LinkFlags;
  /** Our requests to the peer not yet answered. */
  readonly outstanding: number;
  /** Download rate from this peer, bytes per second. */
  readonly rate: number;
  /** The peer's `reqq` from its extended handshake, if it sent one. */
  readonly peerQueueLimit: number | undefined;
  /** Pieces the peer allowed us to fetch while choked (BEP 6) that we still lack. */
  readonly allowedFastWanted: number;
}

export type RequestBudget =
  | {
      readonly kind: "wait";
      readonly why: "notInterested" | "choked" | "aboveLowWater";
      readonly outstanding: number;
      readonly desired: number;
    }
  | {
      readonly kind: "request";
      /** How many new requests to send now. */
      readonly count: number;
      readonly desired: number;
      /** "allowedFast": the peer chokes us, so pick only from its allowed-fast pieces. */
      readonly scope: "any" | "allowedFast";
    };

/** Whether to request more from this peer now, and how many. */
export function requestBudget(input: PipelineInput, cfg: PipelineConfig = DEFAULT_PIPELINE): RequestBudget {
  const { flags, outstanding } = input;
  const desired = flags.snubbed ? 1 : desiredDepth(input.rate, cfg, input.peerQueueLimit);
  if (!flags.amInterested) return { kind: "wait", why: "notInterested", outstanding, desired };
  const scope = flags.peerChoking ? "allowedFast" : "any";
  if (scope === "allowedFast" && input.allowedFastWanted === 0) {
    return { kind: "wait", why: "choked", outstanding, desired };
  }
  if (outstanding >= desired || outstanding > lowWater(desired)) {
    return { kind: "wait", why: "aboveLowWater", outstanding, desired };
  }
  return { kind: "request", count: desired - outstanding, desired, scope };
}
