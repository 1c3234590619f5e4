/**
 * The tracker's state and its decisions, with no IO: time (`now`, ms on the runtime clock)
 * and randomness come in as arguments, every answer is a tagged verdict carrying why.
 *
 * What it guarantees:
 * - Bounded: at most `maxTorrents` swarms (plus, in private mode, at most `maxTorrents`
 *   registered info-hashes), `maxPeersPerTorrent` peers in one swarm and `maxPeers` in all.
 *   A new swarm or a new peer over a limit is refused with the limit that bit; peers already
 *   listed are always updated (a full tracker keeps serving the swarms it has).
 * - A peer is keyed by its endpoint (address and port): the same client re-announcing with a
 *   new peer id replaces itself instead of growing the swarm.
 * - A swarm whose last peer left or expired is dropped at once (its counters with it).
 * - Peer lists never hold the requester (by endpoint or by peer id); a seed gets no seeds.
 * - Every call costs at most one swarm's size (or, for `expire`, all peers once).
 */
import type { ScrapeEntry } from "../../src/protocol/tracker/index.js";
import { compactEndpoint } from "./endpoint.js";
import type { TrackerLimits } from "./limits.js";
import type { AnnounceRequest } from "./types.js";

/** One listed peer. `key` is its compact endpoint (6 or 18 bytes) as a latin1 string. */
export interface PeerEntry {
  readonly key: string;
  peerId: string;
  seeder: boolean;
  /** It has told us `completed` once (counted in the swarm's `downloaded`). */
  completed: boolean;
  lastSeen: number;
}

export interface SwarmCounts {
  readonly complete: number;
  readonly incomplete: number;
  /** `completed` events seen while the swarm existed. */
  readonly downloaded: number;
}

/** The counts as a scrape reports them (both transports). */
export function scrapeEntry(counts: SwarmCounts): ScrapeEntry {
  return { seeders: counts.complete, completed: counts.downloaded, leechers: counts.incomplete };
}

export type Refusal =
  | { readonly kind: "unregisteredTorrent"; readonly infoHash: string }
  | { readonly kind: "tooManyTorrents"; readonly limit: number }
  | { readonly kind: "swarmFull"; readonly limit: number }
  | { readonly kind: "trackerFull"; readonly limit: number };

export type AnnounceVerdict =
  | { readonly kind: "joined"; readonly counts: SwarmCounts; readonly peers: readonly PeerEntry[] }
  | { readonly kind: "updated"; readonly counts: SwarmCounts; readonly peers: readonly PeerEntry[] }
  /** `stopped`: removed if it was listed; either way it gets no peers. */
  | { readonly kind: "left"; readonly counts: SwarmCounts }
  | { readonly kind: "refused"; readonly refusal: Refusal };

export type ScrapeVerdict =
  | { readonly kind: "scraped"; readonly files: readonly ({ readonly infoHash: string } & SwarmCounts)[] }
  | { readonly kind: "refused"; readonly refusal: Refusal };

export type AllowVerdict =
  | { readonly kind: "registered"; readonly infoHash: string }
  | { readonly kind: "alreadyRegistered"; readonly infoHash: string }
  /** An open tracker serves every info-hash already. */
  | { readonly kind: "openTracker" }
  | { readonly kind: "refused"; readonly refusal: Refusal };

export interface ExpiryReport {
  readonly peersRemoved: number;
  readonly torrentsRemoved: number;
}

/** Who may announce: anyone (open) or only registered info-hashes (private). */
export type Access = { readonly kind: "open" } | { readonly kind: "private"; readonly infoHashes: Iterable<string> };

export interface TableCounts {
  readonly torrents: number;
  readonly peers: number;
  readonly seeders: number;
  readonly registered: number;
}

const ZERO: SwarmCounts = Object.freeze({ complete: 0, incomplete: 0, downloaded: 0 });

/** Peers in an array (O(1) random access for sampling, swap-remove) plus an index by key. */
class Swarm {
  readonly peers: PeerEntry[] = [];
  readonly index = new Map<string, number>();
  seeders = 0;
  downloaded = 0;

  counts(): SwarmCounts {
    return { complete: this.seeders, incomplete: this.peers.length - this.seeders, downloaded: this.downloaded };
  }

  remove(key: string): PeerEntry | undefined {
    const at = this.index.get(key);
    if (at === undefined) return undefined;
    const entry = this.peers[at] as PeerEntry;
    const last = this.peers.pop() as PeerEntry;
    if (last !== entry) {
      this.peers[at] = last;
      this.index.set(last.key, at);
    }
    this.index.delete(key);
    if (entry.seeder) this.seeders--;
    return entry;
  }
}

export class SwarmTable {
  private readonly swarms = new Map<string, Swarm>();
  private readonly registered: Set<string> | undefined;
  private peerCount = 0;
  private seederCount = 0;

  constructor(
    private readonly limits: TrackerLimits,
    access: Access,
    private readonly random: () => number = Math.random,
  ) {
    if (access.kind === "private") {
      this.registered = new Set();
      for (const infoHash of access.infoHashes) {
        if (this.registered.size >= limits.maxTorrents) break;
        this.registered.add(infoHash);
      }
    }
  }

  counts(): TableCounts {
    return { torrents: this.swarms.size, peers: this.peerCount, seeders: this.seederCount, registered: this.registered?.size ?? 0 };
  }

  allow(infoHash: string): AllowVerdict {
    if (this.registered === undefined) return { kind: "openTracker" };
    if (this.registered.has(infoHash)) return { kind: "alreadyRegistered", infoHash };
    if (this.registered.size >= this.limits.maxTorrents) return { kind: "refused", refusal: { kind: "tooManyTorrents", limit: this.limits.maxTorrents } };
    this.registered.add(infoHash);
    return { kind: "registered", infoHash };
  }

  announce(req: AnnounceRequest, now: number): AnnounceVerdict {
    if (this.registered !== undefined && !this.registered.has(req.infoHash)) {
      return { kind: "refused", refusal: { kind: "unregisteredTorrent", infoHash: req.infoHash } };
    }
    const key = compactEndpoint(req.endpoint).toString("latin1");
    const swarm = this.swarms.get(req.infoHash);
    if (req.event === "stopped") return { kind: "left", counts: swarm === undefined ? ZERO : this.leave(req.infoHash, swarm, key) };

    const existing = swarm?.index.get(key);
    if (swarm !== undefined && existing !== undefined) {
      const entry = swarm.peers[existing] as PeerEntry;
      this.refresh(swarm, entry, req, now);
      return { kind: "updated", counts: swarm.counts(), peers: this.sample(swarm, entry, req.numwant) };
    }
    const refusal = this.admissionRefusal(swarm);
    if (refusal !== undefined) return { kind: "refused", refusal };
    const target = swarm ?? this.newSwarm(req.infoHash);
    const entry: PeerEntry = { key, peerId: "", seeder: false, completed: false, lastSeen: now };
    target.index.set(key, target.peers.length);
    target.peers.push(entry);
    this.peerCount++;
    this.refresh(target, entry, req, now);
    return { kind: "joined", counts: target.counts(), peers: this.sample(target, entry, req.numwant) };
  }

  scrape(infoHashes: readonly string[]): ScrapeVerdict {
    const files: ({ infoHash: string } & SwarmCounts)[] = [];
    for (const infoHash of infoHashes) {
      if (this.registered !== undefined && !this.registered.has(infoHash)) {
        return { kind: "refused", refusal: { kind: "unregisteredTorrent", infoHash } };
      }
      files.push({ infoHash, ...(this.swarms.get(infoHash)?.counts() ?? ZERO) });
    }
    return { kind: "scraped", files };
  }

  /** Drops every peer not heard from since `now - expiryMs`, and the swarms left empty. */
  expire(now: number, expiryMs: number): ExpiryReport {
    const cutoff = now - expiryMs;
    let peersRemoved = 0;
    let torrentsRemoved = 0;
    for (const [infoHash, swarm] of this.swarms) {
      // Backwards: a swap-remove moves the last entry into the slot already visited.
      for (let i = swarm.peers.length - 1; i >= 0; i--) {
        const entry = swarm.peers[i] as PeerEntry;
        if (entry.lastSeen > cutoff) continue;
        this.removePeer(swarm, entry.key);
        peersRemoved++;
      }
      if (swarm.peers.length === 0) {
        this.swarms.delete(infoHash);
        torrentsRemoved++;
      }
    }
    return { peersRemoved, torrentsRemoved };
  }

  private admissionRefusal(swarm: Swarm | undefined): Refusal | undefined {
    const l = this.limits;
    if (swarm === undefined && this.swarms.size >= l.maxTorrents) return { kind: "tooManyTorrents", limit: l.maxTorrents };
    if (swarm !== undefined && swarm.peers.length >= l.maxPeersPerTorrent) return { kind: "swarmFull", limit: l.maxPeersPerTorrent };
    if (this.peerCount >= l.maxPeers) return { kind: "trackerFull", limit: l.maxPeers };
    return undefined;
  }

  private newSwarm(infoHash: string): Swarm {
    const swarm = new Swarm();
    this.swarms.set(infoHash, swarm);
    return swarm;
  }

  private refresh(swarm: Swarm, entry: PeerEntry, req: AnnounceRequest, now: number): void {
    entry.peerId = req.peerId.toString("latin1");
    entry.lastSeen = now;
    const seeder = req.left === 0;
    if (seeder !== entry.seeder) {
      const delta = seeder ? 1 : -1;
      swarm.seeders += delta;
      this.seederCount += delta;
      entry.seeder = seeder;
    }
    if (req.event === "completed" && !entry.completed) {
      entry.completed = true;
      swarm.downloaded++;
    }
  }

  private leave(infoHash: string, swarm: Swarm, key: string): SwarmCounts {
    this.removePeer(swarm, key);
    const counts = swarm.counts();
    if (swarm.peers.length === 0) this.swarms.delete(infoHash);
    return counts;
  }

  private removePeer(swarm: Swarm, key: string): void {
    const removed = swarm.remove(key);
    if (removed === undefined) return;
    this.peerCount--;
    if (removed.seeder) this.seederCount--;
  }

  /**
   * Up to numwant peers, starting at a random slot and going round once: O(swarm size),
   * and over many announces every peer gets handed out.
   */
  private sample(swarm: Swarm, requester: PeerEntry, numwant: number | undefined): PeerEntry[] {
    const want = Math.min(numwant ?? this.limits.defaultNumwant, this.limits.maxNumwant);
    const peers = swarm.peers;
    const n = peers.length;
    const out: PeerEntry[] = [];
    if (want <= 0 || n <= 1) return out;
    const start = Math.floor(this.random() * n) % n;
    for (let i = 0; i < n && out.length < want; i++) {
      const entry = peers[(start + i) % n] as PeerEntry;
      if (entry === requester || entry.peerId === requester.peerId) continue;
      if (requester.seeder && entry.seeder) continue;
      out.push(entry);
    }
    return out;
  }
}

export function refusalMessage(refusal: Refusal): string {
  switch (refusal.kind) {
    case "unregisteredTorrent":
      return `unregistered torrent ${refusal.infoHash}`;
    case "tooManyTorrents":
      return `tracker full: it serves at most ${refusal.limit} torrents`;
    case "swarmFull":
      return `swarm full: at most ${refusal.limit} peers per torrent`;
    case "trackerFull":
      return `tracker full: at most ${refusal.limit} peers`;
    default: {
      const unreachable: never = refusal;
      throw new Error(`unknown refusal ${JSON.stringify(unreachable)}`);
    }
  }
}
