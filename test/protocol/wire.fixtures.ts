// Generators and an independent oracle for the peer-wire tests (not a test file itself).
import fc from "fast-check";
import {
  BLOCK_LENGTH,
  WireDecoder,
  type ExtendedHandshake,
  type TorrentContext,
  type WireEvent,
  type WireFeatures,
  type WireMessage,
} from "../../src/protocol/wire/index.js";

export const ALL_FEATURES: WireFeatures = { fast: true, extended: true };

export function pieceSize(ctx: TorrentContext, index: number): number {
  return index === ctx.pieceCount - 1 ? ctx.totalLength - (ctx.pieceCount - 1) * ctx.pieceLength : ctx.pieceLength;
}

/** Small torrents (short blocks keep thousands of cases fast), sometimes with full 16 KiB blocks. */
export const contextArb: fc.Arbitrary<TorrentContext> = fc
  .record({
    pieceCount: fc.integer({ min: 1, max: 70 }),
    pieceLength: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(BLOCK_LENGTH * 2)),
  })
  .chain(({ pieceCount, pieceLength }) =>
    fc.integer({ min: 1, max: pieceLength }).map((last) => ({
      pieceCount,
      pieceLength,
      totalLength: (pieceCount - 1) * pieceLength + last,
    })),
  );

const blockRef = (ctx: TorrentContext, maxLength: number) =>
  fc.integer({ min: 0, max: ctx.pieceCount - 1 }).chain((index) => {
    const size = pieceSize(ctx, index);
    const cap = Math.min(size, maxLength);
    return fc
      .integer({ min: 1, max: cap })
      .chain((length) => fc.record({ index: fc.constant(index), begin: fc.integer({ min: 0, max: size - length }), length: fc.constant(length) }));
  });

const extendedHandshakeArb: fc.Arbitrary<ExtendedHandshake> = fc.record(
  {
    extensions: fc
      .uniqueArray(fc.tuple(fc.constantFrom("ut_metadata", "ut_pex", "lt_donthave", "x", "upload_only"), fc.integer({ min: 0, max: 255 })), {
        selector: ([name]) => name,
        maxLength: 5,
      })
      .map((entries) => new Map(entries)),
    listenPort: fc.integer({ min: 1, max: 65535 }),
    client: fc.string({ maxLength: 20 }),
    yourIp: fc.oneof(fc.ipV4(), fc.constant("2001:db8:0:0:0:0:0:1")),
    requestQueue: fc.integer({ min: 1, max: 5000 }),
    metadataSize: fc.integer({ min: 1, max: 10_000_000 }),
  },
  { requiredKeys: ["extensions"] },
);

const bare = (type: "keepAlive" | "choke" | "unchoke" | "interested" | "notInterested" | "haveAll" | "haveNone") =>
  fc.constant({ type } as WireMessage);

/** Any message valid for `ctx` (all features on). Blocks are short but for a few full ones. */
export function messageArb(ctx: TorrentContext): fc.Arbitrary<WireMessage> {
  const index = fc.integer({ min: 0, max: ctx.pieceCount - 1 });
  const bitfieldBytes = Math.ceil(ctx.pieceCount / 8);
  const spare = ctx.pieceCount % 8 === 0 ? 0 : 0xff >> ctx.pieceCount % 8;
  return fc.oneof(
    bare("keepAlive"),
    bare("choke"),
    bare("unchoke"),
    bare("interested"),
    bare("notInterested"),
    bare("haveAll"),
    bare("haveNone"),
    index.map((i): WireMessage => ({ type: "have", index: i })),
    index.map((i): WireMessage => ({ type: "suggest", index: i })),
    index.map((i): WireMessage => ({ type: "allowedFast", index: i })),
    fc
      .uint8Array({ minLength: bitfieldBytes, maxLength: bitfieldBytes })
      .map((b): WireMessage => {
        const bits = Buffer.from(b);
        bits[bits.length - 1] = (bits[bits.length - 1] ?? 0) & ~spare;
        return { type: "bitfield", bits };
      }),
    ...(["request", "cancel", "reject"] as const).map((type) =>
      blockRef(ctx, BLOCK_LENGTH).map((r): WireMessage => ({ type, ...r })),
    ),
    blockRef(ctx, 64).chain((r) =>
      fc
        .uint8Array({ minLength: r.length, maxLength: r.length })
        .map((b): WireMessage => ({ type: "piece", index: r.index, begin: r.begin, block: Buffer.from(b) })),
    ),
    fc.integer({ min: 0, max: 65535 }).map((port): WireMessage => ({ type: "port", port })),
    fc
      .record({ extId: fc.integer({ min: 1, max: 255 }), payload: fc.uint8Array({ maxLength: 40 }) })
      .map((e): WireMessage => ({ type: "extended", extId: e.extId, payload: Buffer.from(e.payload) })),
    extendedHandshakeArb.map((handshake): WireMessage => ({ type: "extendedHandshake", handshake })),
  );
}

/** A piece message with a full-size block (taken from a fixed pattern so generation stays cheap). */
export function fullBlockPieceArb(ctx: TorrentContext): fc.Arbitrary<WireMessage> {
  const pattern = Buffer.alloc(BLOCK_LENGTH, 0xab);
  return blockRef(ctx, BLOCK_LENGTH).map((r) => ({ type: "piece", index: r.index, begin: r.begin, block: pattern.subarray(0, r.length) }));
}

/** Cut `bytes` at the given points (any order, repeats and out-of-range points ignored). */
export function split(bytes: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(at, c));
    at = c;
  }
  return chunks;
}

export interface DecodeRun {
  readonly events: WireEvent[];
  /** The most bytes the decoder held for a spanning frame, sampled after every call. */
  readonly maxBuffered: number;
}

/** Push each chunk and drain after it, the way a peer actor does. */
export function decodeChunks(decoder: WireDecoder, chunks: readonly Buffer[]): DecodeRun {
  const events: WireEvent[] = [];
  let maxBuffered = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let ev = decoder.next(); ev !== undefined; ev = decoder.next()) {
      events.push(ev);
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    }
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
  }
  return { events, maxBuffered };
}

/**
 * Independent statement of what a decoded message may be under `ctx`: written from the
 * BEPs, not from the decoder, so a decoder that lets a bad value through fails here.
 */
export function messageProblem(msg: WireMessage, ctx: TorrentContext | undefined): string | undefined {
  const idx = (i: number) => (ctx !== undefined && (i < 0 || i >= ctx.pieceCount) ? `index ${i}` : undefined);
  switch (msg.type) {
    case "have":
    case "suggest":
    case "allowedFast":
      return idx(msg.index);
    case "request":
    case "cancel":
    case "reject":
      if (msg.length < 1 || msg.length > BLOCK_LENGTH) return `length ${msg.length}`;
      return idx(msg.index) ?? (ctx !== undefined && msg.begin + msg.length > pieceSize(ctx, msg.index) ? "past piece" : undefined);
    case "piece":
      if (msg.block.length < 1 || msg.block.length > BLOCK_LENGTH) return `block ${msg.block.length}`;
      return (
        idx(msg.index) ??
        (ctx !== undefined && msg.begin + msg.block.length > pieceSize(ctx, msg.index) ? "past piece" : undefined)
      );
    case "bitfield": {
      if (ctx === undefined) return undefined;
      if (msg.bits.length !== Math.ceil(ctx.pieceCount / 8)) return "bitfield length";
      for (let i = ctx.pieceCount; i < msg.bits.length * 8; i++) {
        if (((msg.bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) return `spare bit ${i}`;
      }
      return undefined;
    }
    case "port":
      return msg.port >= 0 && msg.port <= 65535 ? undefined : `port ${msg.port}`;
    case "extended":
      return msg.extId >= 1 && msg.extId <= 255 ? undefined : `extId ${msg.extId}`;
    default:
      return undefined;
  }
}

/**
 * Events in a form `toEqual` compares quickly: vitest walks a Buffer element by element,
 * which for 16 KiB blocks costs more than the decoding under test.
 */
export function comparable(events: readonly WireEvent[]): unknown[] {
  return events.map((ev) => {
    switch (ev.type) {
      case "piece":
        return { ...ev, block: ev.block.toString("hex") };
      case "bitfield":
        return { ...ev, bits: ev.bits.toString("hex") };
      case "extended":
        return { ...ev, payload: ev.payload.toString("hex") };
      case "extendedHandshake":
        return { ...ev, handshake: { ...ev.handshake, extensions: [...ev.handshake.extensions].sort() } };
      default:
        return ev;
    }
  });
}
