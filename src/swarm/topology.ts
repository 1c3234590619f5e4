/**
 * Who is who in a swarm run: the seed and the nodes, their labels and loopback addresses,
 * and which of them the chaos schedule picks (liars, crashing processes), all derived
 * from the run's seed so a run can be replayed. Pure.
 *
 * Addresses: the embedded tracker on 127.0.0.1, the seed on 127.0.0.2, node i (1-based)
 * on 127.0.<1 + (i-1) / 254>.<1 + (i-1) % 254>: 127.0.1.1, 127.0.1.2, ... Every member
 * binds only its own address, so a host is a member (bans, per-host limits and, later,
 * topology-aware choices see distinct hosts).
 */
import { seededRandom } from "../../actors/chaos/corruptReader.js";
import { deriveSeed } from "../../actors/chaos/schedule.js";

export const TRACKER_HOST = "127.0.0.1";
export const SEED_HOST = "127.0.0.2";
export const SEED_LABEL = "seed";
/** 254 hosts per third octet, 127.0.1.x to 127.0.250.x. */
export const MAX_NODES = 250 * 254;

export type Role = "seed" | "leech";

export interface Member {
  /** 0 for the seed, 1..N for the nodes. */
  readonly index: number;
  readonly label: string;
  readonly role: Role;
  readonly host: string;
}

export function nodeHost(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) throw new RangeError(`node index ${index} is outside 1..${MAX_NODES}`);
  const i = index - 1;
  return `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`;
}

export function members(nodes: number): Member[] {
  const out: Member[] = [{ index: 0, label: SEED_LABEL, role: "seed", host: SEED_HOST }];
  for (let i = 1; i <= nodes; i++) out.push({ index: i, label: `node${i}`, role: "leech", host: nodeHost(i) });
  return out;
}

/** What a sub-seed is for: each purpose gets its own stream, so adding one never shifts another. */
export type SeedPurpose = "kills" | "net" | "corrupt" | "pickLiars" | "pickCrashes";

/** The seed of (run seed, member, purpose), derived as the chaos actors derive theirs. */
export function subSeed(runSeed: number, member: number, purpose: SeedPurpose): number {
  return deriveSeed(runSeed, `swarm/${purpose}/${member}`);
}

/**
 * `count` distinct node indices out of 1..nodes (never the seed), chosen by a seeded
 * shuffle, sorted. count is clamped to nodes.
 */
export function pickNodes(nodes: number, count: number, seed: number): number[] {
  const order = Array.from({ length: nodes }, (_, i) => i + 1);
  const random = seededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order.slice(0, Math.max(0, Math.min(nodes, count))).sort((a, b) => a - b);
}
