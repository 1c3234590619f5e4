/** Small statistics for bench:actors: medians of rounds, percentiles of latency samples. */

/** A throughput run: how long `messages` deliveries took. */
export interface Timed {
  readonly ms: number;
  readonly messages: number;
}

export interface Latency {
  readonly medianUs: number;
  readonly p90Us: number;
  readonly p99Us: number;
}

/** The value at fraction q (0..1) of the sorted samples (nearest rank). */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

export function messagesPerSecond(run: Timed): number {
  return run.messages / (run.ms / 1000);
}

export function latencyOf(samplesUs: readonly number[]): Latency {
  return { medianUs: quantile(samplesUs, 0.5), p90Us: quantile(samplesUs, 0.9), p99Us: quantile(samplesUs, 0.99) };
}

/** The median of each field across rounds. */
export function medianLatency(rounds: readonly Latency[]): Latency {
  return {
    medianUs: median(rounds.map((r) => r.medianUs)),
    p90Us: median(rounds.map((r) => r.p90Us)),
    p99Us: median(rounds.map((r) => r.p99Us)),
  };
}

/** Rounds a figure to 3 significant digits for the JSON line. */
export function sig3(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(3)) : value;
}

/** A figure for a table: `digits` decimals, "n/a" when it could not be measured. */
export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}
