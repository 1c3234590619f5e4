/**
 * One direction of one proxied TCP link, without sockets: the bytes read from the source and
 * not yet written to the destination, when each may go (latency), and how many may go now
 * (a token bucket). The proxy actor (netProxy.ts) reads into it and executes its steps.
 *
 * Guarantees:
 * - Bounded: `room()` is what may still be read; the proxy never reads more, so `held` never
 *   exceeds `maxHeld` (and `peakHeld` records the most it ever held, for tests and reports).
 * - Order: chunks leave in the order they came, each no earlier than `latencyMs` after it was
 *   read (latency is the same for every chunk, so due times never go backwards).
 * - Bandwidth: with a rate R, the bucket holds at most R/10 bytes (100 ms of traffic) and
 *   refills at R per second, so over any window of W ms at most R/10 + R x W / 1000 bytes
 *   leave. A chunk larger than what the bucket can hold leaves in slices of at most R/10.
 * - `nextStep` is pure with respect to time: it takes `now` and returns what to do as a
 *   tagged step: send these bytes, wait until a time, or nothing to send.
 */

export class TokenBucket {
  readonly capacity: number;
  private tokens: number;
  private last: number;

  constructor(
    readonly bytesPerSec: number,
    now: number,
  ) {
    if (!(bytesPerSec > 0) || !Number.isFinite(bytesPerSec)) throw new RangeError(`bandwidth must be a positive number of bytes/s, got ${bytesPerSec}`);
    this.capacity = Math.max(1, Math.floor(bytesPerSec / 10));
    this.tokens = this.capacity;
    this.last = now;
  }

  /** Whole bytes that may be sent now. */
  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens + 1e-9);
  }

  /** When `bytes` (<= capacity) will be available. */
  readyAt(bytes: number, now: number): number {
    this.refill(now);
    const missing = Math.min(bytes, this.capacity) - this.tokens;
    return missing <= 0 ? now : now + (missing * 1000) / this.bytesPerSec;
  }

  take(bytes: number): void {
    this.tokens = Math.max(0, this.tokens - bytes);
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.bytesPerSec) / 1000);
      this.last = now;
    }
  }
}

export type FlowStep =
  | { readonly kind: "send"; readonly data: Buffer }
  | { readonly kind: "waitUntil"; readonly at: number; readonly why: "latency" | "bandwidth" }
  | { readonly kind: "empty" };

interface Held {
  data: Buffer;
  readonly dueAt: number;
}

export class Flow {
  private readonly queue: (Held | undefined)[] = [];
  private head = 0;
  held = 0;
  peakHeld = 0;
  /** Bytes handed to the destination. */
  forwarded = 0;
  private readonly bucket: TokenBucket | undefined;

  constructor(
    readonly maxHeld: number,
    readonly latencyMs: number,
    bandwidthBytesPerSec: number | undefined,
    now: number,
  ) {
    if (!(maxHeld >= 1)) throw new RangeError(`maxHeld must be at least 1 byte, got ${maxHeld}`);
    this.bucket = bandwidthBytesPerSec === undefined ? undefined : new TokenBucket(bandwidthBytesPerSec, now);
  }

  /** Bytes that may still be read from the source. */
  room(): number {
    return this.maxHeld - this.held;
  }

  get isEmpty(): boolean {
    return this.held === 0;
  }

  /** A chunk read from the source; the caller read at most room() bytes. */
  push(data: Buffer, now: number): void {
    if (data.length === 0) return;
    if (data.length > this.room()) throw new RangeError(`flow: ${data.length} bytes pushed with room for ${this.room()}`);
    this.queue.push({ data, dueAt: now + this.latencyMs });
    this.held += data.length;
    if (this.held > this.peakHeld) this.peakHeld = this.held;
  }

  /** What to do now; a "send" step has already been taken out of the flow. */
  nextStep(now: number): FlowStep {
    const first = this.queue[this.head];
    if (first === undefined) return { kind: "empty" };
    if (first.dueAt > now) return { kind: "waitUntil", at: first.dueAt, why: "latency" };
    let n = first.data.length;
    if (this.bucket !== undefined) {
      const want = Math.min(n, this.bucket.capacity);
      if (this.bucket.available(now) < want) return { kind: "waitUntil", at: this.bucket.readyAt(want, now), why: "bandwidth" };
      n = want;
      this.bucket.take(n);
    }
    const data = n === first.data.length ? first.data : first.data.subarray(0, n);
    if (n === first.data.length) this.dequeue();
    else first.data = first.data.subarray(n);
    this.held -= n;
    this.forwarded += n;
    return { kind: "send", data };
  }

  /** Drops everything held (the destination is gone); returns the bytes dropped. */
  clear(): number {
    const dropped = this.held;
    this.queue.length = 0;
    this.head = 0;
    this.held = 0;
    return dropped;
  }

  private dequeue(): void {
    this.queue[this.head] = undefined;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      // A long-lived flow that never empties: drop the spent front so the array does not grow with its history.
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
