/** What can be tuned per peer connection, with the defaults and why. */
import { livenessConfig, type LivenessConfig } from "./liveness.js";
import { DEFAULT_UPLOAD_QUEUE_BOUND, pipelineConfig, type PipelineConfig } from "./pipeline.js";

export interface PeerOptions {
  /** Connect plus both handshakes (default 10 s, libtorrent's handshake_timeout). */
  readonly handshakeTimeoutMs?: number;
  readonly liveness?: Partial<LivenessConfig>;
  readonly pipeline?: Partial<PipelineConfig>;
  /** The most of the peer's requests we queue; advertised as `reqq` (default 250). */
  readonly uploadQueueBound?: number;
  /** Wire messages handled per turn before the rest waits for a later turn (default 512). */
  readonly turnBudget?: number;
  /** Upload reads in flight for one peer, each a run of requests within one read-ahead window (default 16). */
  readonly maxReads?: number;
  /** Our listen port, told to the peer in the extended handshake (`p`). */
  readonly listenPort?: number;
}

export interface PeerConfig {
  readonly handshakeTimeoutMs: number;
  readonly liveness: LivenessConfig;
  readonly pipeline: PipelineConfig;
  readonly uploadQueueBound: number;
  readonly turnBudget: number;
  readonly maxReads: number;
  readonly listenPort: number | undefined;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`peer options: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Defaults filled in; a nonsensical value throws RangeError naming it. */
export function peerConfig(options: PeerOptions = {}): PeerConfig {
  const listenPort = options.listenPort;
  if (listenPort !== undefined && !(Number.isInteger(listenPort) && listenPort > 0 && listenPort < 65536)) {
    throw new RangeError(`peer options: listenPort must be 1..65535, got ${listenPort}`);
  }
  return {
    handshakeTimeoutMs: positiveInt("handshakeTimeoutMs", options.handshakeTimeoutMs ?? 10_000),
    liveness: livenessConfig(options.liveness),
    pipeline: pipelineConfig(options.pipeline),
    uploadQueueBound: positiveInt("uploadQueueBound", options.uploadQueueBound ?? DEFAULT_UPLOAD_QUEUE_BOUND),
    turnBudget: positiveInt("turnBudget", options.turnBudget ?? 512),
    maxReads: positiveInt("maxReads", options.maxReads ?? 16),
    listenPort,
  };
}
