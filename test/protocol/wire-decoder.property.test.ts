import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeMessage, WireDecoder, type TorrentContext, type WireEvent, type WireFeatures } from "../../src/protocol/wire/index.js";
import { comparable, contextArb, decodeChunks, fullBlockPieceArb, messageArb, messageProblem, split } from "./wire.fixtures.js";

const featuresArb: fc.Arbitrary<WireFeatures> = fc.record({ fast: fc.boolean(), extended: fc.boolean() });
const cutsArb = fc.array(fc.nat({ max: 40_000 }), { maxLength: 12 });

/** A torrent and a valid stream of messages for it, a few of them with full 16 KiB blocks. */
const streamArb = contextArb.chain((ctx) =>
  fc.record({
    ctx: fc.constant(ctx),
    messages: fc.array(fc.oneof({ weight: 12, arbitrary: messageArb(ctx) }, { weight: 1, arbitrary: fullBlockPieceArb(ctx) }), {
      maxLength: 12,
    }),
  }),
);

/** Small edits that turn a valid stream into a plausible hostile one. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("length" as const), at: fc.nat(), value: fc.nat({ max: 0xffffffff }) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function mutate(bytes: Buffer, m: Mutation): Buffer {
  if (bytes.length === 0) return m.kind === "insert" ? Buffer.from(m.bytes) : bytes;
  const at = m.at % bytes.length;
  switch (m.kind) {
    case "set": {
      const out = Buffer.from(bytes);
      out[at] = m.byte;
      return out;
    }
    case "insert":
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
    case "length": {
      const out = Buffer.from(bytes);
      if (at + 4 <= out.length) out.writeUInt32BE(m.value, at);
      return out;
    }
  }
}

/** Frames with plausible lengths and ids (pure noise mostly dies at its first length prefix). */
const frameNoiseArb = fc
  .array(
    fc.record({
      id: fc.oneof(fc.integer({ min: 0, max: 21 }), fc.nat({ max: 255 })),
      payload: fc.uint8Array({ maxLength: 20 }),
      lengthDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
    }),
    { maxLength: 10 },
  )
  .map((frames) =>
    Buffer.concat(
      frames.map(({ id, payload, lengthDelta }) => {
        const head = Buffer.alloc(5);
        head.writeUInt32BE(Math.max(0, 1 + payload.length + lengthDelta), 0);
        head[4] = id;
        return Buffer.concat([head, payload]);
      }),
    ),
  );

/**
 * What every run over hostile bytes must show: messages that satisfy the BEPs for the
 * torrent, then at most one violation as the very last event, the decoder never holding
 * more than one frame, and the same events whatever the chunking.
 */
function checkHostile(bytes: Buffer, ctx: TorrentContext | undefined, features: WireFeatures, cuts: number[]): void {
  const make = () => new WireDecoder({ features, context: ctx });
  const whole = decodeChunks(make(), [bytes]);
  const d = make();
  const chunked = decodeChunks(d, split(bytes, cuts));
  expect(comparable(chunked.events)).toEqual(comparable(whole.events));
  expect(chunked.maxBuffered).toBeLessThanOrEqual(d.maxFrameLength + 4);
  const events: WireEvent[] = chunked.events;
  events.forEach((ev, i) => {
    if (ev.type === "violation") expect(i).toBe(events.length - 1);
    else expect(messageProblem(ev, ctx)).toBeUndefined();
  });
  if (d.violation !== undefined) expect(d.bufferedBytes + d.pendingBytes).toBe(0);
}

describe("wire decoder properties", () => {
  it("decodes a valid stream to its messages under any chunking", () => {
    fc.assert(
      fc.property(streamArb, cutsArb, ({ ctx, messages }, cuts) => {
        const frames = messages.map(encodeMessage);
        const bytes = Buffer.concat(frames);
        const d = new WireDecoder({ features: { fast: true, extended: true }, context: ctx });
        const run = decodeChunks(d, split(bytes, cuts.map((c) => c % (bytes.length + 1))));
        expect(comparable(run.events)).toEqual(comparable(messages));
        // Never more than the one frame being assembled.
        expect(run.maxBuffered).toBeLessThanOrEqual(Math.max(0, ...frames.map((f) => f.length)));
        expect(d.bufferedBytes).toBe(0);
        expect(d.pendingBytes).toBe(0);
      }),
      { numRuns: 6000 },
    );
  });

  it("decodes a valid stream fed one byte at a time", () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), fc.array(messageArb(ctx), { maxLength: 6 }))),
        ([ctx, messages]) => {
          const bytes = Buffer.concat(messages.map(encodeMessage));
          const d = new WireDecoder({ features: { fast: true, extended: true }, context: ctx });
          const ones = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
          expect(comparable(decodeChunks(d, ones).events)).toEqual(comparable(messages));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("turns random bytes into valid messages or one typed violation", () => {
    fc.assert(
      fc.property(
        fc.option(contextArb, { nil: undefined }),
        featuresArb,
        fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), frameNoiseArb),
        cutsArb,
        (ctx, features, bytes, cuts) => checkHostile(bytes, ctx, features, cuts.map((c) => c % (bytes.length + 1))),
      ),
      { numRuns: 9000 },
    );
  });

  it("turns mutated valid streams into valid messages or one typed violation", () => {
    fc.assert(
      fc.property(
        streamArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        featuresArb,
        fc.boolean(),
        cutsArb,
        ({ ctx, messages }, mutations, features, knowContext, cuts) => {
          const bytes = mutations.reduce(mutate, Buffer.concat(messages.map(encodeMessage)));
          checkHostile(bytes, knowContext ? ctx : undefined, features, cuts.map((c) => c % (bytes.length + 1)));
        },
      ),
      { numRuns: 8000 },
    );
  });
});
