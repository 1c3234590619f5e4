/**
 * One proxied direction without sockets (netFlow.ts), checked against its promises on
 * random schedules of reads and clock moves: bytes leave in order and unchanged, never
 * before latencyMs, never more than the bucket allows in any window, and the flow never
 * holds more than maxHeld.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Flow, TokenBucket } from "../../actors/chaos/netFlow.js";

interface Sent {
  readonly at: number;
  readonly from: number;
  readonly to: number;
}

const opArb = fc.oneof(
  fc.record({ kind: fc.constant("read" as const), size: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.double({ min: 0, max: 300, noNaN: true }) }),
);

describe("Flow", () => {
  it("order, integrity, latency, bandwidth and the held bound hold on random schedules", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.option(fc.integer({ min: 1000, max: 200_000 }), { nil: undefined }),
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        (maxHeld, latencyMs, bw, ops) => {
          let now = 0;
          const flow = new Flow(maxHeld, latencyMs, bw, now);
          const pushedAt: { at: number; end: number }[] = [];
          let pushed = 0;
          let counter = 0;
          const out: Buffer[] = [];
          const sent: Sent[] = [];
          let sentBytes = 0;
          const drain = (): void => {
            for (let guard = 0; guard < 100_000; guard++) {
              const step = flow.nextStep(now);
              if (step.kind !== "send") {
                if (step.kind === "waitUntil") expect(step.at).toBeGreaterThan(now - 1e-6);
                return;
              }
              out.push(Buffer.from(step.data));
              sent.push({ at: now, from: sentBytes, to: sentBytes + step.data.length });
              sentBytes += step.data.length;
            }
            throw new Error("drain did not stop");
          };
          for (const op of ops) {
            if (op.kind === "read") {
              const n = Math.min(op.size, flow.room());
              if (n > 0) {
                const chunk = Buffer.alloc(n);
                for (let i = 0; i < n; i++) chunk[i] = (counter++ * 31) & 0xff;
                flow.push(chunk, now);
                pushed += n;
                pushedAt.push({ at: now, end: pushed });
              }
            } else {
              now += op.ms;
            }
            expect(flow.held).toBeLessThanOrEqual(maxHeld);
            drain();
          }
          // Order and integrity: what left is a prefix of what came, byte for byte.
          const all = Buffer.concat(out);
          for (let i = 0; i < all.length; i++) expect(all[i]).toBe((i * 31) & 0xff);
          expect(flow.held).toBe(pushed - sentBytes);
          expect(flow.peakHeld).toBeLessThanOrEqual(maxHeld);
          // Latency: the last byte of each send was read at least latencyMs before.
          for (const s of sent) {
            const readAt = pushedAt.find((p) => p.end >= s.to)?.at ?? Infinity;
            expect(s.at - readAt).toBeGreaterThanOrEqual(latencyMs - 1e-6);
          }
          // Bandwidth: in any window [a, b], at most capacity + rate x (b - a).
          if (bw !== undefined) {
            const capacity = Math.max(1, Math.floor(bw / 10));
            for (let i = 0; i < sent.length; i++) {
              let bytes = 0;
              for (let j = i; j < sent.length; j++) {
                const b = sent[j] as Sent;
                bytes += b.to - b.from;
                expect(bytes).toBeLessThanOrEqual(capacity + (bw * (b.at - (sent[i] as Sent).at)) / 1000 + 1e-6);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a push beyond its room, and clear() drops what it held", () => {
    const flow = new Flow(10, 0, undefined, 0);
    flow.push(Buffer.alloc(8), 0);
    expect(() => flow.push(Buffer.alloc(3), 0)).toThrow(RangeError);
    expect(flow.clear()).toBe(8);
    expect(flow.room()).toBe(10);
    expect(flow.nextStep(0)).toEqual({ kind: "empty" });
  });
});

describe("TokenBucket", () => {
  it("starts full at a tenth of a second of traffic and says when bytes will be there", () => {
    const bucket = new TokenBucket(100_000, 0);
    expect(bucket.capacity).toBe(10_000);
    expect(bucket.available(0)).toBe(10_000);
    bucket.take(10_000);
    expect(bucket.available(0)).toBe(0);
    expect(bucket.readyAt(5000, 0)).toBeCloseTo(50, 9);
    expect(bucket.available(50)).toBe(5000);
    // It never holds more than its capacity, however long it waited.
    expect(bucket.available(1_000_000)).toBe(10_000);
  });
});
