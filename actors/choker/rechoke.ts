/**
 * The choker's decision for one torrent, pure: from the table of its peers' last reported
 * stats, the time and a source of randomness, who holds an upload slot and why, which peer
 * is the optimistic unchoke, and the messages that takes -- changes only: a peer already
 * unchoked is not told again.
 *
 * Rules of the default profile (BEP 3 tit-for-tat as libtorrent runs it):
 * - Only a peer interested in us takes a slot; one that is not is choked.
 * - Regular slots (`uploadSlots`): a leeching torrent gives them to the peers that send us
 *   the most (their download rate to us); a seeding torrent to the peers we send the most
 *   (libtorrent's default seed algorithm, "fastest_upload": the peers that can take our
 *   bytes fastest spread them fastest; the optimistic slot rotates the others in).
 *   A snubbed peer (requests out to it, no block for the snub timeout) gets no regular slot.
 *   Ties go to a peer already unchoked (no churn for nothing), then to the one connected
 *   longest.
 * - One optimistic unchoke on top, drawn among the interested peers that won no regular
 *   slot, snubbed ones included (this slot is how a peer proves itself again). It is kept
 *   for `optimisticMs`, then rotated to another candidate; it is drawn again at once when
 *   its peer left, lost interest or won a regular slot. A peer connected for less than
 *   `newPeerMs` weighs `newPeerWeight` in the draw: it has no pieces to trade yet.
 * Datacenter profile: no tit-for-tat and no optimistic slot: every interested peer is
 * unchoked, snubbed or not, up to `uploadSlots`, those already unchoked and then the longest
 * connected first.
 */
import type { RechokePolicy } from "./config.js";

export type TorrentMode = "leeching" | "seeding";

/** One peer as its last report said, and what the choker last told it. */
export interface PeerStats {
  /** The peer actor's pid id: unique within a node. */
  readonly id: number;
  /** `host:port`, for the evidence and the logs. */
  readonly key: string;
  /** The peer is interested in our pieces. */
  readonly interested: boolean;
  readonly snubbed: boolean;
  /** Bytes per second the peer sends us. */
  readonly downRate: number;
  /** Bytes per second we send the peer. */
  readonly upRate: number;
  /** When its link became active (the runtime clock). */
  readonly activeSince: number;
  /** Whether we unchoke it now. */
  readonly unchoked: boolean;
}

export interface OptimisticSlot {
  readonly id: number;
  /** When it was drawn. */
  readonly since: number;
}

export interface TorrentTable {
  readonly infoHash: string;
  readonly mode: TorrentMode;
  readonly peers: readonly PeerStats[];
  readonly optimistic: OptimisticSlot | undefined;
}

/** What regular slots are ranked by. */
export type RankedBy = "downloadRate" | "uploadRate" | "arrival";

export type ChokeWhy =
  | "notInterested"
  /** Excluded from regular slots and not drawn for the optimistic one. */
  | "snubbed"
  /** Interested, but others ranked higher and the draw went elsewhere. */
  | "outranked"
  /** Datacenter: interested, but every slot was taken. */
  | "slotLimit";

/** Every peer's outcome, with the evidence for it. */
export type SlotEvidence =
  | { readonly kind: "regular"; readonly id: number; readonly key: string; readonly rank: number; readonly by: RankedBy; readonly rate: number }
  | { readonly kind: "optimistic"; readonly id: number; readonly key: string; readonly newcomer: boolean }
  | { readonly kind: "choked"; readonly id: number; readonly key: string; readonly why: ChokeWhy };

export type OptimisticWhy =
  | "first"
  /** The previous pick held the slot for `optimisticMs`. */
  | "rotation"
  /** The previous pick disconnected. */
  | "previousGone"
  | "previousNotInterested"
  /** The previous pick won a regular slot. */
  | "previousPromoted";

export type OptimisticVerdict =
  | { readonly kind: "none"; readonly why: "datacenter" | "noCandidate" }
  | { readonly kind: "kept"; readonly id: number; readonly since: number }
  | {
      readonly kind: "drawn";
      readonly id: number;
      readonly since: number;
      readonly why: OptimisticWhy;
      readonly newcomer: boolean;
      readonly weight: number;
      readonly totalWeight: number;
      readonly candidates: number;
    };

export interface Unchoke {
  readonly id: number;
  readonly key: string;
  readonly slot: "regular" | "optimistic";
}

export interface Choke {
  readonly id: number;
  readonly key: string;
  readonly why: ChokeWhy;
}

export interface RechokeVerdict {
  readonly kind: "rechoke";
  readonly infoHash: string;
  readonly mode: TorrentMode;
  readonly rankedBy: RankedBy;
  readonly at: number;
  /** Peers choked now that must be unchoked. */
  readonly unchoke: readonly Unchoke[];
  /** Peers unchoked now that must be choked. */
  readonly choke: readonly Choke[];
  readonly optimistic: OptimisticVerdict;
  /** One per peer of the table, regular slots first in rank order. */
  readonly slots: readonly SlotEvidence[];
}

export function rankedBy(policy: Pick<RechokePolicy, "profile">, mode: TorrentMode): RankedBy {
  if (policy.profile === "datacenter") return "arrival";
  return mode === "leeching" ? "downloadRate" : "uploadRate";
}

function rateFor(p: PeerStats, by: RankedBy): number {
  return by === "uploadRate" ? p.upRate : p.downRate;
}

/** Best first: higher rate, then already unchoked, then connected longest, then lower id. */
function rank(by: RankedBy): (a: PeerStats, b: PeerStats) => number {
  const rated = by !== "arrival";
  return (a, b) =>
    (rated ? rateFor(b, by) - rateFor(a, by) : 0) ||
    Number(b.unchoked) - Number(a.unchoked) ||
    a.activeSince - b.activeSince ||
    a.id - b.id;
}

export function rechoke(table: TorrentTable, now: number, random: () => number, policy: RechokePolicy): RechokeVerdict {
  const by = rankedBy(policy, table.mode);
  const datacenter = policy.profile === "datacenter";
  const contenders: PeerStats[] = [];
  const snubbed: PeerStats[] = [];
  const notInterested: PeerStats[] = [];
  for (const p of table.peers) {
    if (!p.interested) notInterested.push(p);
    else if (p.snubbed && !datacenter) snubbed.push(p);
    else contenders.push(p);
  }
  contenders.sort(rank(by));
  const regular = contenders.slice(0, policy.uploadSlots);
  const losers = contenders.slice(policy.uploadSlots);

  const candidates = [...losers, ...snubbed].sort((a, b) => a.id - b.id);
  const optimistic = datacenter
    ? ({ kind: "none", why: "datacenter" } as const)
    : drawOptimistic(table, new Set(regular.map((p) => p.id)), candidates, now, random, policy);
  const optimisticId = optimistic.kind === "none" ? undefined : optimistic.id;

  const slots: SlotEvidence[] = regular.map((p, i) => ({ kind: "regular", id: p.id, key: p.key, rank: i + 1, by, rate: rateFor(p, by) }));
  for (const p of candidates) {
    if (p.id === optimisticId) slots.push({ kind: "optimistic", id: p.id, key: p.key, newcomer: isNewcomer(p, now, policy) });
    else slots.push({ kind: "choked", id: p.id, key: p.key, why: p.snubbed && !datacenter ? "snubbed" : datacenter ? "slotLimit" : "outranked" });
  }
  for (const p of notInterested) slots.push({ kind: "choked", id: p.id, key: p.key, why: "notInterested" });

  const byId = new Map(table.peers.map((p) => [p.id, p] as const));
  const unchoke: Unchoke[] = [];
  const choke: Choke[] = [];
  for (const s of slots) {
    const wasUnchoked = byId.get(s.id)?.unchoked === true;
    if (s.kind === "choked") {
      if (wasUnchoked) choke.push({ id: s.id, key: s.key, why: s.why });
    } else if (!wasUnchoked) {
      unchoke.push({ id: s.id, key: s.key, slot: s.kind });
    }
  }
  return { kind: "rechoke", infoHash: table.infoHash, mode: table.mode, rankedBy: by, at: now, unchoke, choke, optimistic, slots };
}

function isNewcomer(p: PeerStats, now: number, policy: RechokePolicy): boolean {
  return now - p.activeSince < policy.newPeerMs;
}

/** Keep the optimistic unchoke while it is due and still a candidate; else draw, newcomers weighted. */
function drawOptimistic(
  table: TorrentTable,
  regular: ReadonlySet<number>,
  candidates: readonly PeerStats[],
  now: number,
  random: () => number,
  policy: RechokePolicy,
): OptimisticVerdict {
  if (candidates.length === 0) return { kind: "none", why: "noCandidate" };
  const prev = table.optimistic;
  let why: OptimisticWhy = "first";
  let pool = candidates;
  if (prev !== undefined) {
    const still = candidates.some((p) => p.id === prev.id);
    if (still && now - prev.since < policy.optimisticMs) return { kind: "kept", id: prev.id, since: prev.since };
    why = still ? "rotation" : whyPreviousLeft(table, regular, prev.id);
    // Rotation hands the slot to someone else when there is anyone else.
    if (still && candidates.length > 1) pool = candidates.filter((p) => p.id !== prev.id);
  }
  const weights = pool.map((p) => (isNewcomer(p, now, policy) ? policy.newPeerWeight : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const r = clampUnit(random()) * total;
  let acc = 0;
  let chosen = pool.length - 1;
  for (let i = 0; i < pool.length; i++) {
    acc += weights[i] ?? 1;
    if (r < acc) {
      chosen = i;
      break;
    }
  }
  const peer = pool[chosen] as PeerStats;
  return {
    kind: "drawn",
    id: peer.id,
    since: now,
    why,
    newcomer: isNewcomer(peer, now, policy),
    weight: weights[chosen] ?? 1,
    totalWeight: total,
    candidates: pool.length,
  };
}

function whyPreviousLeft(table: TorrentTable, regular: ReadonlySet<number>, id: number): OptimisticWhy {
  if (regular.has(id)) return "previousPromoted";
  const p = table.peers.find((x) => x.id === id);
  if (p === undefined) return "previousGone";
  // Every interested peer without a regular slot is a candidate (snubbed ones too).
  return "previousNotInterested";
}

/** A random source outside [0, 1) must not pick past the end or before the start. */
function clampUnit(x: number): number {
  if (!(x >= 0)) return 0;
  return x < 1 ? x : 0.999_999_999;
}
