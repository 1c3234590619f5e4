import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Bitfield, contextViolation, torrentGeometry, type TorrentContext, type WireEvent, type WireFeatures } from "../../src/protocol/wire/index.js";
import { ExampleLink } from "./exampleExecutor.js";

// Mostly what a well-behaved peer sends, so conversations run long; now and then an edge
// (past the last piece, past a piece's end, an empty or oversized length) or a message
// that ends the link (a late bitfield, an un-negotiated extension, a decoder violation).
const index = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 2 }), weight: 20 }, { arbitrary: fc.integer({ min: 0, max: 13 }), weight: 1 });
const begin = fc.oneof({ arbitrary: fc.constantFrom(0, 16384), weight: 20 }, { arbitrary: fc.integer({ min: 0, max: 50_000 }), weight: 1 });
const length = fc.oneof({ arbitrary: fc.constantFrom(1000, 16384), weight: 20 }, { arbitrary: fc.constantFrom(0, 1, 16385), weight: 1 });
const span = fc.tuple(index, begin, length);

const firstMessage: fc.Arbitrary<WireEvent> = fc.oneof(
  fc.constantFrom<WireEvent>({ type: "haveAll" }, { type: "haveNone" }),
  fc.uint8Array({ maxLength: 3 }).map((b): WireEvent => ({ type: "bitfield", bits: Buffer.from(b) })),
);

/** A first message the peer may send: a bitfield of the right size, or (with fast) haveAll / haveNone. */
function validFirstMessage(pieceCount: number, features: WireFeatures): fc.Arbitrary<WireEvent> {
  const bitfield = fc.integer({ min: 0, max: 2 ** pieceCount - 1 }).map((seed): WireEvent => {
    const b = new Bitfield(pieceCount);
    for (let i = 0; i < pieceCount; i++) if (((seed >>> i) & 1) === 1) b.set(i);
    return { type: "bitfield", bits: Buffer.from(b.bytes) };
  });
  return features.fast ? fc.oneof(bitfield, fc.constantFrom<WireEvent>({ type: "haveAll" }, { type: "haveNone" })) : bitfield;
}

function wireEvents(features: WireFeatures): fc.Arbitrary<WireEvent> {
  const plain: fc.Arbitrary<WireEvent>[] = [
    fc.constantFrom<WireEvent>({ type: "keepAlive" }, { type: "choke" }, { type: "unchoke" }, { type: "interested" }, { type: "notInterested" }),
    index.map((i): WireEvent => ({ type: "have", index: i })),
    span.map(([i, b, l]): WireEvent => ({ type: "request", index: i, begin: b, length: l })),
    span.map(([i, b, l]): WireEvent => ({ type: "request", index: i, begin: b, length: l })),
    span.map(([i, b, l]): WireEvent => ({ type: "cancel", index: i, begin: b, length: l })),
    span.map(([i, b, l]): WireEvent => ({ type: "piece", index: i, begin: b, block: Buffer.alloc(l) })),
    span.map(([i, b, l]): WireEvent => ({ type: "piece", index: i, begin: b, block: Buffer.alloc(l) })),
    fc.integer({ min: 0, max: 65535 }).map((p): WireEvent => ({ type: "port", port: p })),
  ];
  const fast: fc.Arbitrary<WireEvent>[] = [
    index.map((i): WireEvent => ({ type: "suggest", index: i })),
    index.map((i): WireEvent => ({ type: "allowedFast", index: i })),
    span.map(([i, b, l]): WireEvent => ({ type: "reject", index: i, begin: b, length: l })),
  ];
  const extended: fc.Arbitrary<WireEvent>[] = [
    fc.integer({ min: 1, max: 6 }).map((n): WireEvent => ({ type: "extendedHandshake", handshake: { extensions: new Map(), requestQueue: n } })),
    fc.integer({ min: 1, max: 5 }).map((id): WireEvent => ({ type: "extended", extId: id, payload: Buffer.alloc(2) })),
  ];
  const allowed = [...plain, ...(features.fast ? fast : []), ...(features.extended ? extended : [])];
  const ending = [
    firstMessage,
    fc.constant<WireEvent>({ type: "violation", reason: "badLength", detail: "generated" }),
    ...(features.fast ? [] : fast),
    ...(features.extended ? [] : extended),
  ];
  return fc.oneof({ arbitrary: fc.oneof(...allowed), weight: 100 }, { arbitrary: fc.oneof(...ending), weight: 1 });
}

type Local =
  | { readonly local: "chokePeer" | "unchokePeer" | "serveOldest" | "snub" }
  | { readonly local: "request"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly local: "gotPiece"; readonly index: number };

const local: fc.Arbitrary<Local> = fc.oneof(
  fc.constantFrom<Local>({ local: "chokePeer" }, { local: "unchokePeer" }, { local: "serveOldest" }, { local: "snub" }),
  span.map(([i, b, l]): Local => ({ local: "request", index: i, begin: b, length: l })),
  span.map(([i, b, l]): Local => ({ local: "request", index: i, begin: b, length: l })),
  index.map((i): Local => ({ local: "gotPiece", index: i })),
);

const torrent: fc.Arbitrary<TorrentContext> = fc
  .tuple(fc.integer({ min: 4, max: 12 }), fc.constantFrom(32768, 40000), fc.double({ min: 0.01, max: 1, noNaN: true }))
  .map(([pieceCount, pieceLength, lastShare]) => ({
    pieceCount,
    pieceLength,
    totalLength: (pieceCount - 1) * pieceLength + Math.max(1, Math.floor(lastShare * pieceLength)),
  }));

function runLocal(link: ExampleLink, step: Local): void {
  const g = link.geometry;
  switch (step.local) {
    case "chokePeer":
      return link.chokePeer();
    case "unchokePeer":
      return link.unchokePeer();
    case "serveOldest":
      return link.serveOldest();
    case "snub":
      return link.snub();
    case "request":
      // We only ever ask for blocks that exist, as the picker does.
      if (contextViolation({ type: "request", ...step }, g) === undefined) link.request(step.index, step.begin, step.length);
      return;
    case "gotPiece":
      if (step.index < g.pieceCount) link.gotPiece(step.index);
      return;
  }
}

describe("analyzeWire over random conversations (property)", () => {
  /** A torrent, the features both ends agreed on, and a conversation of peer messages and our own moves. */
  const scenario = fc
    .tuple(torrent, fc.record({ fast: fc.boolean(), extended: fc.boolean() }))
    .chain(([ctx, features]) =>
      fc.record({
        ctx: fc.constant(ctx),
        features: fc.constant(features),
        uploadBound: fc.integer({ min: 1, max: 6 }),
        ourBits: fc.uint8Array({ minLength: 2, maxLength: 2 }),
        opening: fc.option(validFirstMessage(ctx.pieceCount, features)),
        steps: fc.array(fc.oneof(wireEvents(features), local), { minLength: 20, maxLength: 80 }),
      }),
    );

  it("never throws, keeps the upload queue within its bound, feeds the machine only changes", () => {
    fc.assert(
      fc.property(scenario, ({ ctx, features, uploadBound, ourBits, opening, steps }) => {
        const g = torrentGeometry(ctx);
        const ours = new Bitfield(g.pieceCount);
        for (let i = 0; i < g.pieceCount; i++) if (((ourBits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) ours.set(i);
        const link = new ExampleLink({ torrent: ctx, features, ours, uploadBound, extensionNames: new Map([[2, "ut_metadata"]]) });
        for (const step of opening === null ? steps : [opening, ...steps]) {
          if (link.closed) break;
          if ("local" in step) runLocal(link, step);
          else link.receive(step);
          expect(link.uploads.size).toBeLessThanOrEqual(link.uploads.bound);
          expect(link.noopMachineEvents).toBe(0);
        }
        if (features.fast) {
          expect(link.seen.get("dropRequest") ?? 0).toBe(0);
        } else {
          expect(link.seen.get("rejectRequest") ?? 0).toBe(0);
          expect(link.sent.rejects).toBe(0);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("an upload-queue overflow ends a plain link and never a fast one", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 4 }), (fast, bound) => {
        const ctx = { pieceCount: 2, pieceLength: 16384 * 8, totalLength: 16384 * 16 };
        const link = new ExampleLink({ torrent: ctx, features: { fast, extended: false }, ours: Bitfield.full(2), uploadBound: bound });
        link.unchokePeer();
        const verdicts = [];
        for (let b = 0; b <= bound && !link.closed; b++) {
          verdicts.push(link.receive({ type: "request", index: 0, begin: b * 16384, length: 16384 }));
        }
        expect(verdicts.slice(0, bound).every((v) => v.kind === "serve")).toBe(true);
        expect(verdicts[bound]).toMatchObject(fast ? { kind: "rejectRequest", reason: "queueFull" } : { kind: "close", reason: "uploadQueueOverflow" });
        expect(link.closed).toBe(!fast);
      }),
    );
  });
});
