/**
 * The link's clocks: when it last received, last sent, and since when it has waited for a
 * block it asked for. `check(now)` says what is due -- close an inactive link, mark a
 * silent one snubbed, send a keep-alive -- and `nextCheckAt` when to look again, so the
 * actor keeps one timer. Every boundary is inclusive: a deadline of 60 s fires at 60 s.
 *
 * Defaults, and why:
 * - snub after 60 s waiting with requests out and no block (libtorrent's request_timeout);
 *   a datacenter profile uses 5 s, where a healthy peer answers in milliseconds.
 * - keep-alive after 60 s with nothing sent. BEP 3 speaks of two minutes, but libtorrent
 *   (peer_timeout = 120 s) closes a link silent for 120 s and itself sends keep-alives at
 *   half that; sending ours at 120 s would race its close.
 * - close after 300 s with nothing received (every peer sends keep-alives well before).
 */

import type { LinkEventOf, LinkFlags } from "./machine.js";

export interface LivenessConfig {
  readonly snubTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly inactivityMs: number;
}

export const DEFAULT_LIVENESS: LivenessConfig = {
  snubTimeoutMs: 60_000,
  keepAliveMs: 60_000,
  inactivityMs: 300_000,
};

/** For peers on one fast network: a peer silent for 5 s with requests out is stalled. */
export const DATACENTER_LIVENESS: LivenessConfig = { ...DEFAULT_LIVENESS, snubTimeoutMs: 5_000 };

export function livenessConfig(overrides: Partial<LivenessConfig> = {}): LivenessConfig {
  const cfg = { ...DEFAULT_LIVENESS, ...overrides };
  for (const [name, value] of Object.entries(cfg)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`liveness: ${name} must be a positive integer, got ${value}`);
  }
  return cfg;
}

export type LivenessAction =
  /** Nothing received for `silentMs`: end the link (and nothing else is worth doing). */
  | { readonly kind: "close"; readonly reason: "inactive"; readonly silentMs: number }
  /** Requests out and no block for `waitedMs`; `outstanding` are the ones still out. */
  | { readonly kind: "snub"; readonly event: LinkEventOf<"SNUBBED">; readonly waitedMs: number; readonly outstanding: number }
  | { readonly kind: "keepAlive"; readonly idleMs: number };

export class LinkClock {
  readonly config: LivenessConfig;
  private receivedAt: number;
  private sentAt: number;
  /** When we started waiting for the next block; undefined when nothing is requested. */
  private waitingFrom: number | undefined;
  private outstanding = 0;

  constructor(now: number, config: LivenessConfig = DEFAULT_LIVENESS) {
    this.config = config;
    this.receivedAt = now;
    this.sentAt = now;
  }

  get lastReceivedAt(): number {
    return this.receivedAt;
  }

  get lastSentAt(): number {
    return this.sentAt;
  }

  get waitingSince(): number | undefined {
    return this.waitingFrom;
  }

  /** Any message arrived (a keep-alive too). */
  received(now: number): void {
    this.receivedAt = now;
  }

  /** Any message went out. */
  sent(now: number): void {
    this.sentAt = now;
  }

  /**
   * Our outstanding request count changed to `outstanding`. `cause` "block" means a
   * requested block arrived, which restarts the wait; new requests start it only when
   * nothing was out before; a count of 0 ends it.
   */
  requestsNow(outstanding: number, cause: "block" | "requested" | "dropped", now: number): void {
    if (outstanding === 0) this.waitingFrom = undefined;
    else if (cause === "block" || this.waitingFrom === undefined) this.waitingFrom = now;
    this.outstanding = outstanding;
  }

  /** What is due at `now`; empty when nothing is. A link already snubbed is not snubbed again. */
  check(now: number, flags: Pick<LinkFlags, "snubbed">): LivenessAction[] {
    const silentMs = now - this.receivedAt;
    if (silentMs >= this.config.inactivityMs) return [{ kind: "close", reason: "inactive", silentMs }];
    const due: LivenessAction[] = [];
    if (!flags.snubbed && this.waitingFrom !== undefined) {
      const waitedMs = now - this.waitingFrom;
      if (waitedMs >= this.config.snubTimeoutMs) {
        due.push({ kind: "snub", event: { type: "SNUBBED" }, waitedMs, outstanding: this.outstanding });
      }
    }
    const idleMs = now - this.sentAt;
    if (idleMs >= this.config.keepAliveMs) due.push({ kind: "keepAlive", idleMs });
    return due;
  }

  /** The earliest time `check` can have something new to say. */
  nextCheckAt(flags: Pick<LinkFlags, "snubbed">): number {
    let at = Math.min(this.receivedAt + this.config.inactivityMs, this.sentAt + this.config.keepAliveMs);
    if (!flags.snubbed && this.waitingFrom !== undefined) at = Math.min(at, this.waitingFrom + this.config.snubTimeoutMs);
    return at;
  }
}
