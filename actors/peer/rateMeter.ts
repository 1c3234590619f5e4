/**
 * Bytes per second over a sliding window, for the request pipeline and the choker.
 *
 * The window is cut into a fixed ring of buckets, so `add` is O(1), `rate` is
 * O(buckets) and memory never grows. Time is passed in (milliseconds from any
 * monotonic origin, never negative); a `now` earlier than one already seen counts as that one.
 *
 * `rate(now)` divides the bytes in the buckets still inside the window by the time those
 * buckets cover, and no more than the time since the meter started: a link 1 s old that
 * moved 1 MB reports 1 MB/s, not 1 MB / 5 s. The span is at least one bucket (250 ms by
 * default), so a first block does not read as an infinite rate.
 */

export const DEFAULT_RATE_WINDOW_MS = 5000;
export const DEFAULT_RATE_BUCKETS = 20;

export class RateMeter {
  readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly stamps: Float64Array;
  private readonly sums: Float64Array;
  private readonly startedAt: number;
  private latest: number;
  private bytesTotal = 0;

  constructor(now: number, windowMs = DEFAULT_RATE_WINDOW_MS, buckets = DEFAULT_RATE_BUCKETS) {
    if (!Number.isSafeInteger(buckets) || buckets < 1) throw new RangeError(`RateMeter: buckets must be >= 1, got ${buckets}`);
    if (!(windowMs >= buckets)) throw new RangeError(`RateMeter: window ${windowMs} ms is shorter than ${buckets} buckets of 1 ms`);
    this.windowMs = windowMs;
    this.bucketMs = windowMs / buckets;
    this.stamps = new Float64Array(buckets).fill(-Infinity);
    this.sums = new Float64Array(buckets);
    this.startedAt = now;
    this.latest = now;
  }

  /** Every byte ever added. */
  get total(): number {
    return this.bytesTotal;
  }

  add(bytes: number, now: number): void {
    const slot = this.slotAt(now);
    const i = slot % this.stamps.length;
    if (this.stamps[i] !== slot) {
      this.stamps[i] = slot;
      this.sums[i] = 0;
    }
    this.sums[i] = (this.sums[i] ?? 0) + bytes;
    this.bytesTotal += bytes;
  }

  /** Bytes per second over the window ending at `now`. */
  rate(now: number): number {
    const current = this.slotAt(now);
    const oldest = current - this.stamps.length + 1;
    let bytes = 0;
    for (let i = 0; i < this.stamps.length; i++) {
      const stamp = this.stamps[i] ?? -Infinity;
      if (stamp >= oldest && stamp <= current) bytes += this.sums[i] ?? 0;
    }
    const t = this.latest;
    const covered = Math.min(t - oldest * this.bucketMs, t - this.startedAt);
    return (bytes * 1000) / Math.max(covered, this.bucketMs);
  }

  private slotAt(now: number): number {
    if (now > this.latest) this.latest = now;
    return Math.floor(this.latest / this.bucketMs);
  }
}
