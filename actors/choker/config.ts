/**
 * The choker's knobs, per profile, with the defaults and why.
 *
 * - default: BEP 3 tit-for-tat as libtorrent runs it: 4 regular upload slots per torrent,
 *   rechoked every 10 s, plus one optimistic unchoke rotated every 30 s, in which a peer
 *   connected for less than a minute weighs 3 (it has nothing to trade yet).
 * - datacenter (the eBay / Murder / Kraken setting for a trusted LAN): no tit-for-tat and no
 *   optimistic slot; every interested peer is unchoked, up to 64 per torrent.
 */

import type { RechokeVerdict } from "./rechoke.js";

export type Profile = "default" | "datacenter";

/** What started a rechoke: the round timer, a peer's interest changing, an unchoked peer leaving. */
export type RechokeCause = "round" | "interest" | "peerGone";

/** Seen by an observer (the dashboard, tests) after each rechoke; it must not throw. */
export interface RechokeEvent {
  readonly cause: RechokeCause;
  readonly verdict: RechokeVerdict;
}

export const PROFILES: readonly Profile[] = ["default", "datacenter"];

/** What the pure rechoke reads. */
export interface RechokePolicy {
  readonly profile: Profile;
  /** Regular slots per torrent (datacenter: the cap on unchoked peers). */
  readonly uploadSlots: number;
  /** How long an optimistic unchoke is kept before it rotates. */
  readonly optimisticMs: number;
  /** A peer whose link is younger than this weighs `newPeerWeight` in the optimistic draw. */
  readonly newPeerMs: number;
  readonly newPeerWeight: number;
}

export interface ChokerOptions {
  readonly profile?: Profile;
  /** Default 4; datacenter 64. */
  readonly uploadSlots?: number;
  /** Rechoke round (default 10 s). */
  readonly rechokeMs?: number;
  /** Optimistic rotation (default 30 s). */
  readonly optimisticMs?: number;
  readonly newPeerMs?: number;
  readonly newPeerWeight?: number;
  /**
   * How often each peer reports its rates (default 3 s, told to the peer when it registers):
   * often enough that a round sees rates at most a few seconds old, rarely enough that a
   * thousand peers cost a few hundred small messages a second.
   */
  readonly reportMs?: number;
  /** The optimistic draw; default Math.random. */
  readonly random?: () => number;
  /** Called after every rechoke, inside the choker's turn; a throw is logged, not propagated. */
  readonly onRechoke?: (event: RechokeEvent) => void;
}

export interface ChokerConfig extends RechokePolicy {
  readonly rechokeMs: number;
  readonly reportMs: number;
  readonly random: () => number;
  readonly onRechoke: ((event: RechokeEvent) => void) | undefined;
}

const DEFAULTS = {
  default: { uploadSlots: 4 },
  datacenter: { uploadSlots: 64 },
} as const satisfies Record<Profile, { uploadSlots: number }>;

export function isProfile(value: unknown): value is Profile {
  return value === "default" || value === "datacenter";
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`choker options: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Defaults filled in for the profile; a nonsensical value throws RangeError naming it. */
export function chokerConfig(options: ChokerOptions = {}): ChokerConfig {
  const profile = options.profile ?? "default";
  if (!isProfile(profile)) throw new RangeError(`choker options: profile must be one of ${PROFILES.join(", ")}, got ${String(profile)}`);
  const weight = options.newPeerWeight ?? 3;
  if (!(Number.isFinite(weight) && weight >= 1)) throw new RangeError(`choker options: newPeerWeight must be a number >= 1, got ${weight}`);
  return {
    profile,
    uploadSlots: positiveInt("uploadSlots", options.uploadSlots ?? DEFAULTS[profile].uploadSlots),
    rechokeMs: positiveInt("rechokeMs", options.rechokeMs ?? 10_000),
    optimisticMs: positiveInt("optimisticMs", options.optimisticMs ?? 30_000),
    newPeerMs: positiveInt("newPeerMs", options.newPeerMs ?? 60_000),
    newPeerWeight: weight,
    reportMs: positiveInt("reportMs", options.reportMs ?? 3000),
    random: options.random ?? Math.random,
    onRechoke: options.onRechoke,
  };
}
