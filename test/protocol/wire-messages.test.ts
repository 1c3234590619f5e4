import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  Bitfield,
  BLOCK_LENGTH,
  contextViolation,
  DEFAULT_MAX_EXTENDED_LENGTH,
  encodeBitfield,
  encodeExtended,
  encodeMessage,
  encodePieceHeader,
  encodeRequest,
  MAX_PIECE_MESSAGE_LENGTH,
  REQUEST_MESSAGE_LENGTH,
  torrentGeometry,
  WireDecoder,
  WireUsageError,
  writeBareMessage,
  writeCancel,
  writeHave,
  writeRequest,
  type TorrentContext,
  type ViolationReason,
  type WireEvent,
  type WireFeatures,
  type WireMessage,
} from "../../src/protocol/wire/index.js";
import { encode as bencode } from "../../src/protocol/bencode.js";
import { ALL_FEATURES, contextArb, decodeChunks, messageArb } from "./wire.fixtures.js";

// 10 pieces of 64 KiB, the last one 1000 bytes.
const CTX: TorrentContext = { pieceCount: 10, pieceLength: 65536, totalLength: 9 * 65536 + 1000 };

/** `null`: no torrent context yet (a default parameter would swallow `undefined`). */
function decoder(features: WireFeatures = ALL_FEATURES, context: TorrentContext | null = CTX): WireDecoder {
  return new WireDecoder({ features, context: context ?? undefined });
}

function decodeAll(bytes: Buffer, d = decoder()): WireEvent[] {
  return decodeChunks(d, [bytes]).events;
}

/** A raw frame: length prefix, id, payload. */
function frame(id: number, ...payload: number[][]): Buffer {
  const body = Buffer.from(payload.flat());
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = id;
  body.copy(out, 5);
  return out;
}

const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function expectViolation(events: WireEvent[], reason: ViolationReason): void {
  const last = events[events.length - 1];
  expect(last?.type).toBe("violation");
  expect(last).toMatchObject({ type: "violation", reason });
}

describe("wire messages round trip", () => {
  const samples: WireMessage[] = [
    { type: "keepAlive" },
    { type: "choke" },
    { type: "unchoke" },
    { type: "interested" },
    { type: "notInterested" },
    { type: "have", index: 9 },
    { type: "bitfield", bits: Buffer.from([0xff, 0xc0]) },
    { type: "request", index: 3, begin: 16384, length: BLOCK_LENGTH },
    { type: "piece", index: 9, begin: 0, block: Buffer.alloc(1000, 7) },
    { type: "cancel", index: 0, begin: 49152, length: BLOCK_LENGTH },
    { type: "port", port: 6881 },
    { type: "suggest", index: 1 },
    { type: "haveAll" },
    { type: "haveNone" },
    { type: "reject", index: 9, begin: 999, length: 1 },
    { type: "allowedFast", index: 4 },
    { type: "extended", extId: 3, payload: Buffer.from("d8:msg_typei0e5:piecei0ee") },
    {
      type: "extendedHandshake",
      handshake: {
        extensions: new Map([["ut_metadata", 2], ["ut_pex", 0]]),
        listenPort: 51413,
        client: "swarmsup 0.1",
        yourIp: "127.0.0.1",
        requestQueue: 250,
        metadataSize: 31337,
      },
    },
  ];
  for (const msg of samples) {
    it(`${msg.type} decodes to what was encoded`, () => {
      expect(decodeAll(encodeMessage(msg))).toEqual([msg]);
    });
  }

  it("every generated message round trips, alone and in a stream", () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), fc.array(messageArb(ctx), { maxLength: 8 }))),
        ([ctx, msgs]) => {
          const d = decoder(ALL_FEATURES, ctx);
          expect(decodeAll(Buffer.concat(msgs.map(encodeMessage)), d)).toEqual(msgs);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("fixed-size messages have their BEP sizes", () => {
    expect(encodeMessage({ type: "keepAlive" })).toEqual(Buffer.from([0, 0, 0, 0]));
    expect(encodeMessage({ type: "interested" })).toEqual(Buffer.from([0, 0, 0, 1, 2]));
    expect(encodeMessage({ type: "have", index: 258 })).toEqual(Buffer.from([0, 0, 0, 5, 4, 0, 0, 1, 2]));
    expect(encodeMessage({ type: "port", port: 6881 })).toEqual(Buffer.from([0, 0, 0, 3, 9, 0x1a, 0xe1]));
    expect(encodeRequest(1, 2, 3)).toEqual(Buffer.from([0, 0, 0, 13, 6, ...u32(1), ...u32(2), ...u32(3)]));
  });
});

describe("wire encoders into caller buffers", () => {
  it("64 requests in one buffer decode as 64 requests", () => {
    const batch = Buffer.alloc(5 + 64 * REQUEST_MESSAGE_LENGTH);
    let at = writeBareMessage(batch, 0, "interested");
    for (let i = 0; i < 64; i++) at = writeRequest(batch, at, i % 10, 0, 1000);
    expect(at).toBe(batch.length);
    const events = decodeAll(batch);
    expect(events).toHaveLength(65);
    expect(events[0]).toEqual({ type: "interested" });
    expect(events[64]).toEqual({ type: "request", index: 3, begin: 0, length: 1000 });
  });

  it("a piece header followed by the block (writev) is one piece message", () => {
    const block = Buffer.alloc(BLOCK_LENGTH, 0x5a);
    const header = encodePieceHeader(2, BLOCK_LENGTH, block.length);
    expect(header).toHaveLength(13);
    expect(decodeAll(Buffer.concat([header, block]))).toEqual([{ type: "piece", index: 2, begin: BLOCK_LENGTH, block }]);
  });

  it("have and cancel writers return the offset after what they wrote", () => {
    const buf = Buffer.alloc(9 + 17);
    expect(writeHave(buf, 0, 5)).toBe(9);
    expect(writeCancel(buf, 9, 1, 0, 10)).toBe(26);
    expect(decodeAll(buf)).toEqual([
      { type: "have", index: 5 },
      { type: "cancel", index: 1, begin: 0, length: 10 },
    ]);
  });

  it("a bitfield message from a Bitfield carries its bytes", () => {
    const bits = new Bitfield(10);
    bits.set(0);
    bits.set(9);
    expect(decodeAll(encodeBitfield(bits))).toEqual([{ type: "bitfield", bits: Buffer.from([0x80, 0x40]) }]);
  });

  it("refuses arguments out of range (our bugs, not input)", () => {
    expect(() => encodeRequest(-1, 0, 1)).toThrow(RangeError);
    expect(() => encodeExtended(256, Buffer.alloc(0))).toThrow(WireUsageError);
    expect(() =>
      encodeMessage({ type: "extendedHandshake", handshake: { extensions: new Map(), yourIp: "not-an-ip" } }),
    ).toThrow(WireUsageError);
  });
});

describe("wire decoder: one violation per limit", () => {
  it("oversizedLength: a piece frame longer than a 16 KiB block", () => {
    const bytes = Buffer.alloc(4 + MAX_PIECE_MESSAGE_LENGTH + 1);
    bytes.writeUInt32BE(MAX_PIECE_MESSAGE_LENGTH + 1, 0);
    bytes[4] = 7;
    expectViolation(decodeAll(bytes), "oversizedLength");
  });

  it("oversizedLength: a huge length prefix is refused from its 4 bytes alone", () => {
    const d = decoder();
    d.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(d.next()).toMatchObject({ type: "violation", reason: "oversizedLength" });
    expect(d.bufferedBytes).toBe(0);
  });

  it("oversizedLength: an extended message over the ceiling", () => {
    const d = decoder();
    const head = Buffer.alloc(6);
    head.writeUInt32BE(DEFAULT_MAX_EXTENDED_LENGTH + 1, 0);
    head[4] = 20;
    d.push(head);
    expect(d.next()).toMatchObject({ reason: "oversizedLength" });
  });

  it("oversizedLength: the extended ceiling is configurable", () => {
    const d = new WireDecoder({ features: ALL_FEATURES, context: CTX, maxExtendedLength: 10 });
    expectViolation(decodeAll(encodeExtended(1, Buffer.alloc(9)), d), "oversizedLength"); // length prefix 11
    expect(decodeAll(encodeExtended(1, Buffer.alloc(8)))).toMatchObject([{ type: "extended", extId: 1 }]);
    expect(() => new WireDecoder({ features: ALL_FEATURES, maxExtendedLength: 1 })).toThrow(WireUsageError);
  });

  it("oversizedLength: before metadata, a bitfield over 256 KiB", () => {
    const d = decoder(ALL_FEATURES, null);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(256 * 1024 + 2, 0);
    head[4] = 5;
    d.push(head);
    expect(d.next()).toMatchObject({ reason: "oversizedLength" });
  });

  it("badLength: fixed-size messages with another length", () => {
    expectViolation(decodeAll(frame(4, u32(1), [0])), "badLength"); // have + 1 byte
    expectViolation(decodeAll(frame(0, [0])), "badLength"); // choke with payload
    expectViolation(decodeAll(frame(6, u32(0), u32(0))), "badLength"); // request without length
    expectViolation(decodeAll(frame(9, [1])), "badLength"); // port with 1 byte
    expectViolation(decodeAll(frame(7, u32(0), u32(0))), "badLength"); // piece with no block
    expectViolation(decodeAll(frame(20)), "badLength"); // extended without an ext id
  });

  it("unknownMessageId", () => {
    for (const id of [10, 11, 12, 18, 19, 21, 255]) expectViolation(decodeAll(frame(id)), "unknownMessageId");
  });

  it("notNegotiated: BEP 6 and BEP 10 messages the handshake did not agree on", () => {
    const plain = { fast: false, extended: false };
    expectViolation(decodeAll(frame(14), decoder(plain)), "notNegotiated");
    expectViolation(decodeAll(frame(16, u32(0), u32(0), u32(1)), decoder(plain)), "notNegotiated");
    expectViolation(decodeAll(frame(20, [1]), decoder(plain)), "notNegotiated");
    expect(decodeAll(frame(14), decoder({ fast: true, extended: false }))).toEqual([{ type: "haveAll" }]);
  });

  it("badBitfieldLength: a bitfield not ceil(pieceCount / 8) bytes long", () => {
    expectViolation(decodeAll(frame(5, [0xff])), "badBitfieldLength");
    expectViolation(decodeAll(frame(5, [0xff, 0xc0, 0])), "badBitfieldLength");
  });

  it("spareBitsSet: a bitfield with bits past the last piece", () => {
    expectViolation(decodeAll(frame(5, [0xff, 0xe0])), "spareBitsSet");
    expect(decodeAll(frame(5, [0xff, 0xc0]))).toEqual([{ type: "bitfield", bits: Buffer.from([0xff, 0xc0]) }]);
  });

  it("requestTooLong: request, cancel or reject over 16 KiB", () => {
    for (const id of [6, 8, 16]) expectViolation(decodeAll(frame(id, u32(0), u32(0), u32(BLOCK_LENGTH + 1))), "requestTooLong");
  });

  it("emptyRequest: a request for 0 bytes", () => {
    expectViolation(decodeAll(frame(6, u32(0), u32(0), u32(0))), "emptyRequest");
  });

  it("indexOutOfRange: have, suggest, allowed fast, request, piece past the last piece", () => {
    expectViolation(decodeAll(frame(4, u32(10))), "indexOutOfRange");
    expectViolation(decodeAll(frame(13, u32(10))), "indexOutOfRange");
    expectViolation(decodeAll(frame(17, u32(0xffffffff))), "indexOutOfRange");
    expectViolation(decodeAll(frame(6, u32(10), u32(0), u32(1))), "indexOutOfRange");
    expectViolation(decodeAll(frame(7, u32(10), u32(0), [1])), "indexOutOfRange");
    expect(decodeAll(frame(4, u32(9)))).toEqual([{ type: "have", index: 9 }]);
  });

  it("offsetOutOfRange: blocks that end past their piece (the last piece is 1000 bytes)", () => {
    expectViolation(decodeAll(frame(6, u32(9), u32(0), u32(1001))), "offsetOutOfRange");
    expectViolation(decodeAll(frame(8, u32(0), u32(65536 - 100), u32(101))), "offsetOutOfRange");
    expectViolation(decodeAll(frame(7, u32(9), u32(999), [1, 2])), "offsetOutOfRange");
    expect(decodeAll(frame(6, u32(9), u32(0), u32(1000)))).toEqual([{ type: "request", index: 9, begin: 0, length: 1000 }]);
  });

  it("badExtendedHandshake: not bencode, not a dict, or `m` not a dict", () => {
    const ext0 = (payload: Buffer) => frame(20, [0], [...payload]);
    expectViolation(decodeAll(ext0(Buffer.from("d1:m"))), "badExtendedHandshake");
    expectViolation(decodeAll(ext0(Buffer.from("li1ee"))), "badExtendedHandshake");
    expectViolation(decodeAll(ext0(Buffer.from("d1:mi1ee"))), "badExtendedHandshake");
    expectViolation(decodeAll(ext0(Buffer.from("de trailing"))), "badExtendedHandshake");
  });

  it("a violation ends the stream: nothing after it, and `violation` says why", () => {
    const d = decoder();
    const events = decodeAll(Buffer.concat([frame(1), frame(99), frame(2)]), d);
    expect(events.map((e) => e.type)).toEqual(["unchoke", "violation"]);
    d.push(frame(2));
    expect(d.next()).toBeUndefined();
    expect(d.violation).toMatchObject({ reason: "unknownMessageId" });
    expect(d.pendingBytes).toBe(0);
  });
});

describe("wire decoder: extended handshake fields", () => {
  const decodeHandshake = (dict: Map<string, unknown>) => {
    const [ev] = decodeAll(encodeExtended(0, bencode(dict as Parameters<typeof bencode>[0])));
    if (ev?.type !== "extendedHandshake") throw new Error(`expected a handshake, got ${JSON.stringify(ev)}`);
    return ev.handshake;
  };

  it("reads m, p, v, yourip (v4 and v6), reqq, metadata_size and ignores unknown keys", () => {
    const h = decodeHandshake(
      new Map<string, unknown>([
        ["m", new Map([["ut_metadata", 3], ["lt_donthave", 7]])],
        ["p", 6881],
        ["v", "libtorrent 2.0.8"],
        ["yourip", Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
        ["reqq", 500],
        ["metadata_size", 12345],
        ["upload_only", 1],
        ["complete_ago", 5],
      ]),
    );
    expect(h).toEqual({
      extensions: new Map([["ut_metadata", 3], ["lt_donthave", 7]]),
      listenPort: 6881,
      client: "libtorrent 2.0.8",
      yourIp: "2001:db8:0:0:0:0:0:1",
      requestQueue: 500,
      metadataSize: 12345,
    });
  });

  it("drops known keys with wrong types or ranges, keeps the rest", () => {
    const h = decodeHandshake(
      new Map<string, unknown>([
        ["m", new Map<string, unknown>([["ut_metadata", 1], ["bad", 300], ["worse", "x"]])],
        ["p", 70000],
        ["v", 12],
        ["yourip", Buffer.from([1, 2, 3])],
        ["reqq", 0],
        ["metadata_size", "big"],
      ]),
    );
    expect(h).toEqual({ extensions: new Map([["ut_metadata", 1]]) });
  });

  it("an IPv4-mapped IPv6 yourip is sent as 4 bytes", () => {
    const msg: WireMessage = { type: "extendedHandshake", handshake: { extensions: new Map(), yourIp: "::ffff:10.0.0.1" } };
    expect(decodeAll(encodeMessage(msg))).toEqual([
      { type: "extendedHandshake", handshake: { extensions: new Map(), yourIp: "10.0.0.1" } },
    ]);
  });
});

describe("wire decoder: zero-copy and assembly", () => {
  it("a piece inside one chunk is a view of that chunk", () => {
    const block = Buffer.alloc(BLOCK_LENGTH, 1);
    const chunk = Buffer.concat([frame(1), encodePieceHeader(0, 0, block.length), block]);
    const [, piece] = decodeAll(chunk);
    if (piece?.type !== "piece") throw new Error("expected a piece");
    expect(piece.block.buffer).toBe(chunk.buffer);
    expect(piece.block.byteOffset).toBe(chunk.byteOffset + 5 + 13);
  });

  it("a piece split across chunks is copied once into a buffer of exactly its block length", () => {
    const block = Buffer.alloc(BLOCK_LENGTH, 2);
    const bytes = Buffer.concat([encodePieceHeader(1, 0, block.length), block]);
    const d = decoder();
    const { events, maxBuffered } = decodeChunks(d, [bytes.subarray(0, 7), bytes.subarray(7, 9000), bytes.subarray(9000)]);
    expect(events).toEqual([{ type: "piece", index: 1, begin: 0, block }]);
    const piece = events[0];
    if (piece?.type !== "piece") throw new Error("expected a piece");
    expect(piece.block.buffer.byteLength).toBe(BLOCK_LENGTH);
    expect(maxBuffered).toBeLessThanOrEqual(13 + BLOCK_LENGTH);
    expect(d.bufferedBytes).toBe(0);
  });

  it("checks a spanning piece's index before allocating its block", () => {
    const d = decoder();
    d.push(Buffer.concat([encodePieceHeader(10, 0, BLOCK_LENGTH), Buffer.alloc(10)]));
    expect(d.next()).toMatchObject({ reason: "indexOutOfRange" });
    expect(d.bufferedBytes).toBe(0);
  });

  it("stops between messages and resumes, with chunks queued behind", () => {
    const d = decoder();
    d.push(Buffer.concat([frame(0), frame(1)]));
    d.push(frame(2));
    d.push(Buffer.alloc(0));
    expect(d.pendingBytes).toBe(15);
    expect(d.next()).toEqual({ type: "choke" });
    expect(d.next()).toEqual({ type: "unchoke" });
    expect(d.next()).toEqual({ type: "interested" });
    expect(d.next()).toBeUndefined();
    expect(d.pendingBytes).toBe(0);
  });

  it("keep-alives split in every way", () => {
    const bytes = Buffer.concat([frame(1), Buffer.alloc(4), frame(0)]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(decodeChunks(decoder(), [bytes.subarray(0, cut), bytes.subarray(cut)]).events.map((e) => e.type)).toEqual([
        "unchoke",
        "keepAlive",
        "choke",
      ]);
    }
  });
});

describe("wire decoder: context set later (magnet)", () => {
  it("accepts indices and bitfields by the ceilings, then checks them against the torrent", () => {
    const d = decoder(ALL_FEATURES, null);
    expect(decodeChunks(d, [frame(4, u32(500)), frame(5, [0xff, 0xff, 0xff])]).events).toEqual([
      { type: "have", index: 500 },
      { type: "bitfield", bits: Buffer.from([0xff, 0xff, 0xff]) },
    ]);
    expectViolation(decodeChunks(d, [frame(4, u32(2 ** 21))]).events, "indexOutOfRange");

    const later = decoder(ALL_FEATURES, null);
    later.setTorrentContext(CTX);
    expectViolation(decodeChunks(later, [frame(4, u32(500))]).events, "indexOutOfRange");
  });

  it("holds messages kept from before the metadata to the torrent once it is known", () => {
    const g = torrentGeometry(CTX);
    expect(contextViolation({ type: "have", index: 500 }, g)).toMatchObject({ reason: "indexOutOfRange" });
    expect(contextViolation({ type: "have", index: 9 }, g)).toBeUndefined();
    expect(contextViolation({ type: "bitfield", bits: Buffer.from([0xff, 0xff, 0xff]) }, g)).toMatchObject({
      reason: "badBitfieldLength",
    });
    expect(contextViolation({ type: "bitfield", bits: Buffer.from([0xff, 0xe0]) }, g)).toMatchObject({ reason: "spareBitsSet" });
    expect(contextViolation({ type: "piece", index: 9, begin: 990, block: Buffer.alloc(11) }, g)).toMatchObject({
      reason: "offsetOutOfRange",
    });
    expect(contextViolation({ type: "request", index: 0, begin: 0, length: 0 }, g)).toMatchObject({ reason: "emptyRequest" });
    expect(contextViolation({ type: "choke" }, g)).toBeUndefined();
  });

  it("refuses an impossible context (our bug)", () => {
    expect(() => decoder(ALL_FEATURES, { pieceCount: 2, pieceLength: 10, totalLength: 30 })).toThrow(WireUsageError);
    expect(() => decoder(ALL_FEATURES, { pieceCount: 0, pieceLength: 10, totalLength: 0 })).toThrow(WireUsageError);
  });
});
