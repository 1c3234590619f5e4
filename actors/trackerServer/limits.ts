/**
 * The tracker's limits: every table, queue and request it keeps has a ceiling, so a flood of
 * fake announces meets a failure reason, never growth. The defaults size a small public
 * tracker (100,000 peers ~ tens of MB); tests shrink them to watch each one bite.
 */
import { MAX_SCRAPE_HASHES } from "../../src/protocol/tracker/index.js";

export interface TrackerLimits {
  /** Seconds between a client's announces (the `interval` we hand out). */
  readonly intervalSeconds: number;
  /** Seconds without an announce after which a peer is dropped (default 1.5 x interval). */
  readonly expirySeconds: number;
  /** Info-hashes with at least one peer (or, in private mode, registered). */
  readonly maxTorrents: number;
  readonly maxPeersPerTorrent: number;
  readonly maxPeers: number;
  /** Peers returned when the client does not say (numwant absent or UDP's -1). */
  readonly defaultNumwant: number;
  /** A larger numwant is lowered to this. */
  readonly maxNumwant: number;
  /** Info-hashes in one scrape (74 fill a 1500-byte UDP packet; the same cap for HTTP). */
  readonly maxScrapeHashes: number;
  /** Bytes of an HTTP request target (path and query). */
  readonly maxUrlBytes: number;
  /** Bytes of an HTTP request's start line and headers (Node's maxHeaderSize). */
  readonly maxHeaderBytes: number;
  /** Query parameters in one HTTP request. */
  readonly maxQueryParams: number;
  /** HTTP connections open at once. */
  readonly maxHttpConnections: number;
  /** Requests (HTTP and UDP) waiting in the mailbox; more are shed (503, or the datagram dropped). */
  readonly maxQueuedRequests: number;
  /** An HTTP connection must send its headers within this many ms. */
  readonly httpRequestTimeoutMs: number;
  /** BEP 15: a connection id is accepted this long after it was issued. */
  readonly connectionIdLifetimeSeconds: number;
}

export const DEFAULT_INTERVAL_SECONDS = 120;

export function defaultLimits(intervalSeconds = DEFAULT_INTERVAL_SECONDS): TrackerLimits {
  return {
    intervalSeconds,
    expirySeconds: Math.ceil(intervalSeconds * 1.5),
    maxTorrents: 10_000,
    maxPeersPerTorrent: 2_000,
    maxPeers: 100_000,
    defaultNumwant: 50,
    maxNumwant: 200,
    maxScrapeHashes: MAX_SCRAPE_HASHES,
    maxUrlBytes: 8_192,
    maxHeaderBytes: 16_384,
    maxQueryParams: 128,
    maxHttpConnections: 1_024,
    maxQueuedRequests: 4_096,
    httpRequestTimeoutMs: 10_000,
    connectionIdLifetimeSeconds: 120,
  };
}

/** Limits from partial overrides; the expiry follows the interval unless it is given. */
export function resolveLimits(overrides: Partial<TrackerLimits> = {}): TrackerLimits {
  const base = defaultLimits(overrides.intervalSeconds);
  return { ...base, ...overrides };
}

/** The first limit that is not a positive integer (or an expiry shorter than the interval), as a message. */
export function limitsProblem(limits: TrackerLimits): string | undefined {
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) return `${key} must be a positive integer, got ${String(value)}`;
  }
  if (limits.expirySeconds < limits.intervalSeconds) {
    return `expirySeconds (${limits.expirySeconds}) must not be shorter than intervalSeconds (${limits.intervalSeconds})`;
  }
  if (limits.defaultNumwant > limits.maxNumwant) return `defaultNumwant (${limits.defaultNumwant}) exceeds maxNumwant (${limits.maxNumwant})`;
  // The UDP scrape reply and request must fit in one datagram.
  if (limits.maxScrapeHashes > MAX_SCRAPE_HASHES) return `maxScrapeHashes must be at most ${MAX_SCRAPE_HASHES} (one UDP datagram), got ${limits.maxScrapeHashes}`;
  return undefined;
}
