/** The tracker's requests once parsed, whichever transport (HTTP or UDP) they came on. */

export type AnnounceEvent = "none" | "started" | "completed" | "stopped" | "paused";

/** Where a peer listens: its address as the tracker sees it (or as a loopback client says), and its port. */
export interface PeerEndpoint {
  readonly family: "ipv4" | "ipv6";
  readonly ip: string;
  readonly port: number;
}

export interface AnnounceRequest {
  /** 40 lowercase hex digits. */
  readonly infoHash: string;
  /** 20 bytes. */
  readonly peerId: Buffer;
  readonly endpoint: PeerEndpoint;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** undefined: the tracker's default; larger than the cap: the cap. */
  readonly numwant: number | undefined;
}

export interface ScrapeRequest {
  /** 40 lowercase hex digits each, at least one. */
  readonly infoHashes: readonly string[];
}
