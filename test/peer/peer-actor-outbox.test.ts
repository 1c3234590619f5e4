import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Outbox, type OutboxSink } from "../../actors/peer/socketIo.js";
import { encodeHandshake, encodeMessage, type WireMessage } from "../../src/protocol/wire/index.js";

/** Records every write, and how many were corked together. */
class Recorder implements OutboxSink {
  destroyed = false;
  writable = true;
  readonly writes: Buffer[] = [];
  corks = 0;
  write(chunk: unknown): boolean {
    // Kept by reference, as a socket keeps what it has not sent yet: if the outbox reused a
    // buffer it handed over, the bytes compared at the end would differ.
    this.writes.push(chunk as Buffer);
    return true;
  }
  cork(): void {
    this.corks++;
  }
  uncork(): void {}
}

const u32 = fc.integer({ min: 0, max: 2 ** 31 });
const small: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.constantFrom<WireMessage>({ type: "interested" }, { type: "notInterested" }, { type: "choke" }, { type: "unchoke" }, { type: "haveAll" }, { type: "keepAlive" }),
  u32.map((index): WireMessage => ({ type: "have", index })),
  fc.tuple(u32, u32, fc.integer({ min: 1, max: 16384 })).map(([index, begin, length]): WireMessage => ({ type: "request", index, begin, length })),
  fc.tuple(u32, u32, fc.integer({ min: 1, max: 16384 })).map(([index, begin, length]): WireMessage => ({ type: "cancel", index, begin, length })),
  fc.tuple(u32, u32, fc.integer({ min: 1, max: 16384 })).map(([index, begin, length]): WireMessage => ({ type: "reject", index, begin, length })),
);
const big: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.tuple(u32, u32, fc.uint8Array({ minLength: 1, maxLength: 3000 })).map(([index, begin, b]): WireMessage => ({ type: "piece", index, begin, block: Buffer.from(b) })),
  fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b): WireMessage => ({ type: "bitfield", bits: Buffer.from(b) })),
);
/** Mostly small messages, so runs of them overflow the 16 KiB scratch between two blocks. */
const message: fc.Arbitrary<WireMessage> = fc.oneof({ weight: 200, arbitrary: small }, { weight: 1, arbitrary: big });

function queue(out: Outbox, m: WireMessage): void {
  switch (m.type) {
    case "have":
      return out.have(m.index);
    case "request":
      return out.request(m.index, m.begin, m.length);
    case "cancel":
      return out.cancel(m.index, m.begin, m.length);
    case "reject":
      return out.reject(m.index, m.begin, m.length);
    case "piece":
      return out.piece(m.index, m.begin, m.block);
    case "keepAlive":
      return out.keepAlive();
    case "interested":
    case "notInterested":
    case "choke":
    case "unchoke":
    case "haveAll":
      return out.bare(m.type);
    default:
      return out.raw(encodeMessage(m));
  }
}

describe("peer outbox", () => {
  it("writes exactly the encoded messages, in order, however many fill its scratch (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(message, { minLength: 200, maxLength: 4000, size: "max" }), { minLength: 1, maxLength: 4 }), (batches) => {
        const sink = new Recorder();
        const out = new Outbox(sink);
        let expected = 0;
        for (const batch of batches) {
          for (const m of batch) queue(out, m);
          const bytes = Buffer.concat(batch.map(encodeMessage));
          expected += bytes.length;
          expect(out.pending).toBe(bytes.length);
          expect(out.flush()).toBe(bytes.length);
          expect(out.pending).toBe(0);
        }
        expect(Buffer.concat(sink.writes).equals(Buffer.concat(batches.flat().map(encodeMessage)))).toBe(true);
        expect(Buffer.concat(sink.writes).length).toBe(expected);
      }),
      { numRuns: 60, endOnFailure: true },
    );
  });

  it("sends a block by reference, with its header corked in the same batch", () => {
    const sink = new Recorder();
    const writes: unknown[] = [];
    sink.write = (chunk: unknown) => {
      writes.push(chunk);
      return true;
    };
    const out = new Outbox(sink);
    const block = Buffer.alloc(16384, 7);
    out.raw(encodeHandshake({ infoHash: Buffer.alloc(20), peerId: Buffer.alloc(20), fast: true, extended: true, dht: false }));
    out.piece(1, 0, block);
    out.flush();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBe(block); // the very buffer: no copy
    expect(sink.corks).toBe(1);
  });

  it("drops what it holds once the socket is gone", () => {
    const sink = new Recorder();
    const out = new Outbox(sink);
    out.have(1);
    sink.destroyed = true;
    expect(out.flush()).toBe(0);
    expect(out.pending).toBe(0);
    expect(sink.writes).toEqual([]);
  });

  it("afterWrite runs when the socket calls back for the batch's last write, not before", () => {
    const sink = new Recorder();
    const callbacks: (() => void)[] = [];
    sink.write = (chunk: unknown, cb?: unknown) => {
      sink.writes.push(chunk as Buffer);
      if (typeof cb === "function") callbacks.push(cb as () => void);
      return true;
    };
    const out = new Outbox(sink);
    const done: string[] = [];
    out.piece(1, 0, Buffer.alloc(16384, 1));
    out.afterWrite(() => done.push("a"));
    out.piece(1, 16384, Buffer.alloc(16384, 2));
    out.afterWrite(() => done.push("b"));
    out.flush();
    expect(done).toEqual([]); // queued to the socket, not yet written
    expect(callbacks).toHaveLength(1); // one callback, on the last write of the batch
    expect(sink.writes.at(-1)?.[0]).toBe(2);
    callbacks[0]?.();
    expect(done).toEqual(["a", "b"]);
    out.have(3);
    out.flush();
    expect(callbacks).toHaveLength(1); // nothing asked after that batch
  });

  it("afterWrite runs at flush when nothing is written: an empty batch, or a socket that is gone", () => {
    const sink = new Recorder();
    const out = new Outbox(sink);
    const done: string[] = [];
    out.afterWrite(() => done.push("empty"));
    out.flush();
    expect(done).toEqual(["empty"]);
    out.piece(0, 0, Buffer.alloc(16));
    out.afterWrite(() => done.push("gone"));
    sink.destroyed = true;
    out.flush();
    expect(done).toEqual(["empty", "gone"]);
  });
});
