/**
 * The tracker protocol's shared terms (BEP 3 HTTP, BEP 15 UDP): what an announce asks and
 * what a tracker answers, after validation. Byte strings from the wire stay Buffers
 * (info-hash, peer id, tracker id); counts are safe integers.
 */

/** BEP 3 `event`; "none" is the regular re-announce (no event parameter / UDP 0). */
export type AnnounceEvent = "none" | "completed" | "started" | "stopped";

export interface AnnounceRequest {
  /** 20 bytes. */
  readonly infoHash: Buffer;
  /** 20 bytes. */
  readonly peerId: Buffer;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** Peers wanted; -1 lets the tracker choose (UDP default). */
  readonly numwant: number;
  /** A 32-bit value that lets a tracker recognise us when our address changes. */
  readonly key: number;
  /** HTTP only: the `tracker id` the tracker gave us in an earlier reply. */
  readonly trackerId?: Buffer;
}

export interface TrackerPeer {
  readonly host: string;
  readonly port: number;
}

/** A successful announce, whichever transport carried it. */
export interface AnnounceReply {
  readonly intervalSec: number;
  readonly minIntervalSec: number | undefined;
  /** HTTP `tracker id`, to send back on the next announces. */
  readonly trackerId: Buffer | undefined;
  /** Seeders (`complete`), when the tracker says. */
  readonly seeders: number | undefined;
  /** Leechers (`incomplete`), when the tracker says. */
  readonly leechers: number | undefined;
  readonly peers: readonly TrackerPeer[];
  /** Entries past the peer limit or unusable (port 0, a bad address), not in `peers`. */
  readonly peersDropped: number;
  readonly warning: string | undefined;
}

/** One torrent's counts in a scrape (BEP 48 over HTTP, BEP 15 over UDP). */
export interface ScrapeEntry {
  /** `complete`. */
  readonly seeders: number;
  /** `downloaded`: completed downloads the tracker has seen. */
  readonly completed: number;
  /** `incomplete`. */
  readonly leechers: number;
}

/** Bounds on what a reply may make us hold. */
export interface TrackerLimits {
  /** An HTTP body larger than this is refused while it streams in. */
  readonly maxBodyBytes: number;
  /** Peers kept from one reply; the rest are counted in `peersDropped`. */
  readonly maxPeers: number;
}

export const DEFAULT_TRACKER_LIMITS: TrackerLimits = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxPeers: 1000,
});
