import { afterAll, describe, expect, it } from "vitest";
import {
  analyzeWire,
  openingAfter,
  uploadsOnChoke,
  type Opening,
  type ProtocolCloseReason,
  type WireVerdict,
  type WireVerdictKind,
} from "../../actors/peer/analyze.js";
import { Bitfield, type WireEvent } from "../../src/protocol/wire/index.js";
import { bits, FAST, linkState, PLAIN, requestSet, TORRENT, uploadQueue, type StateOverrides } from "./fixtures.js";

const BLOCK = 16 * 1024;

/** Every kind and close reason the table reaches; the last tests compare with the full lists. */
const reachedKinds = new Set<WireVerdictKind>();
const reachedCloses = new Set<ProtocolCloseReason>();

function verdict(over: StateOverrides, event: WireEvent): WireVerdict {
  const v = analyzeWire(linkState(over), event);
  reachedKinds.add(v.kind);
  if (v.kind === "close") reachedCloses.add(v.reason);
  return v;
}

const unchoked = { flags: { amChoking: false } };
const seed = bits([...Array(TORRENT.pieceCount).keys()]);

describe("analyzeWire: ending the link", () => {
  it("passes the decoder's violation on as the close reason", () => {
    expect(verdict({}, { type: "violation", reason: "oversizedLength", detail: "length 99999999" })).toEqual({
      kind: "close",
      reason: "violation",
      violation: "oversizedLength",
      detail: "length 99999999",
    });
  });

  const fastOnly: WireEvent[] = [
    { type: "suggest", index: 1 },
    { type: "haveAll" },
    { type: "haveNone" },
    { type: "reject", index: 1, begin: 0, length: BLOCK },
    { type: "allowedFast", index: 1 },
  ];
  for (const event of fastOnly) {
    it(`closes on ${event.type} when fast was not negotiated`, () => {
      expect(verdict({ features: { fast: false, extended: true }, opening: "awaitingPieces" }, event)).toMatchObject({
        kind: "close",
        reason: "violation",
        violation: "notNegotiated",
      });
    });
  }

  const extendedOnly: WireEvent[] = [
    { type: "extendedHandshake", handshake: { extensions: new Map() } },
    { type: "extended", extId: 3, payload: Buffer.alloc(1) },
  ];
  for (const event of extendedOnly) {
    it(`closes on ${event.type} when the extension protocol was not negotiated`, () => {
      expect(verdict({ features: { fast: true, extended: false } }, event)).toMatchObject({
        kind: "close",
        violation: "notNegotiated",
      });
    });
  }

  const outOfTorrent: readonly (readonly [string, WireEvent, string])[] = [
    ["a have past the last piece", { type: "have", index: 10 }, "indexOutOfRange"],
    ["an allowed fast past the last piece", { type: "allowedFast", index: 99 }, "indexOutOfRange"],
    ["a request past its piece's end", { type: "request", index: 0, begin: 2 * BLOCK, length: 1 }, "offsetOutOfRange"],
    ["a request past the short last piece", { type: "request", index: 9, begin: 0, length: 1001 }, "offsetOutOfRange"],
    ["an empty request", { type: "request", index: 0, begin: 0, length: 0 }, "emptyRequest"],
    ["a request over one block", { type: "request", index: 0, begin: 0, length: BLOCK + 1 }, "requestTooLong"],
    ["a cancel past its piece", { type: "cancel", index: 3, begin: 32 * 1024, length: 1 }, "offsetOutOfRange"],
    ["a block past its piece", { type: "piece", index: 9, begin: 900, block: Buffer.alloc(101) }, "offsetOutOfRange"],
    ["a bitfield of the wrong length", { type: "bitfield", bits: Buffer.alloc(3) }, "badBitfieldLength"],
    ["a bitfield with spare bits set", { type: "bitfield", bits: Buffer.from([0, 0x20]) }, "spareBitsSet"],
  ];
  for (const [what, event, violation] of outOfTorrent) {
    it(`closes on ${what} (re-checked against the torrent)`, () => {
      expect(verdict({ opening: "awaitingPieces", ours: seed, ...unchoked }, event)).toMatchObject({
        kind: "close",
        reason: "violation",
        violation,
      });
    });
  }

  for (const event of [{ type: "bitfield", bits: Buffer.alloc(2) }, { type: "haveAll" }, { type: "haveNone" }] as const) {
    it(`closes on ${event.type} after the peer's first message`, () => {
      expect(verdict({ opening: "open" }, event)).toEqual({
        kind: "close",
        reason: "bitfieldNotFirst",
        detail: `${event.type} after the peer's first message`,
      });
    });
  }
});

describe("analyzeWire: the peer's pieces", () => {
  it("takes a first bitfield as the peer's set and becomes interested in what we lack", () => {
    const v = verdict({ opening: "awaitingPieces", ours: bits([0]) }, { type: "bitfield", bits: Buffer.from([0xc0, 0x00]) });
    expect(v).toMatchObject({ kind: "peerPieces", source: "bitfield", interest: { type: "BECOME_INTERESTED" } });
    if (v.kind !== "peerPieces") throw new Error("unreachable");
    expect([...v.set.indices()]).toEqual([0, 1]);
  });

  it("stays uninterested in a bitfield that offers nothing new", () => {
    expect(verdict({ opening: "awaitingPieces", ours: bits([0, 1]) }, { type: "bitfield", bits: Buffer.from([0xc0, 0x00]) }))
      .toMatchObject({ kind: "peerPieces", interest: undefined });
  });

  it("haveAll is every piece; a seed wants nothing from it", () => {
    const v = verdict({ opening: "awaitingPieces" }, { type: "haveAll" });
    expect(v).toMatchObject({ kind: "peerPieces", source: "haveAll", interest: { type: "BECOME_INTERESTED" } });
    if (v.kind !== "peerPieces") throw new Error("unreachable");
    expect(v.set.complete).toBe(true);
    expect(verdict({ opening: "awaitingPieces", ours: seed }, { type: "haveAll" })).toMatchObject({ interest: undefined });
  });

  it("haveNone is the empty set, and ends an interest we already had", () => {
    const v = verdict({ opening: "awaitingPieces", flags: { amInterested: true } }, { type: "haveNone" });
    expect(v).toMatchObject({ kind: "peerPieces", source: "haveNone", interest: { type: "LOSE_INTEREST" } });
    if (v.kind !== "peerPieces") throw new Error("unreachable");
    expect(v.set.count).toBe(0);
  });

  it("a have for a piece we lack makes us interested, once", () => {
    expect(verdict({}, { type: "have", index: 4 })).toEqual({ kind: "peerHas", index: 4, interest: { type: "BECOME_INTERESTED" } });
    expect(verdict({ flags: { amInterested: true } }, { type: "have", index: 4 })).toEqual({ kind: "peerHas", index: 4, interest: undefined });
    expect(verdict({ ours: bits([4]) }, { type: "have", index: 4 })).toEqual({ kind: "peerHas", index: 4, interest: undefined });
  });

  it("ignores a have the peer already announced", () => {
    expect(verdict({ theirs: bits([4]) }, { type: "have", index: 4 })).toMatchObject({ kind: "ignore", why: "alreadyAnnounced" });
  });
});

describe("analyzeWire: choke and interest", () => {
  const outstanding = [
    { piece: 1, begin: 0, length: BLOCK },
    { piece: 1, begin: BLOCK, length: BLOCK },
  ];

  it("a choke abandons every outstanding request without fast (BEP 3)", () => {
    expect(verdict({ features: PLAIN, flags: { peerChoking: false }, outstanding: requestSet(outstanding) }, { type: "choke" })).toEqual({
      kind: "choked",
      event: { type: "PEER_CHOKE" },
      abandoned: outstanding,
    });
  });

  it("a choke abandons nothing with fast (each request gets its own answer, BEP 6)", () => {
    expect(verdict({ flags: { peerChoking: false }, outstanding: requestSet(outstanding) }, { type: "choke" })).toEqual({
      kind: "choked",
      event: { type: "PEER_CHOKE" },
      abandoned: [],
    });
  });

  const changes = [
    ["unchoke", { peerChoking: true }, "PEER_UNCHOKE"],
    ["interested", { peerInterested: false }, "PEER_INTERESTED"],
    ["notInterested", { peerInterested: true }, "PEER_NOT_INTERESTED"],
  ] as const;
  for (const [type, flags, event] of changes) {
    it(`${type} becomes ${event}`, () => {
      expect(verdict({ flags }, { type })).toEqual({ kind: "stateChange", event: { type: event } });
    });
  }

  const repeats = [
    ["choke", { peerChoking: true }],
    ["unchoke", { peerChoking: false }],
    ["interested", { peerInterested: true }],
    ["notInterested", { peerInterested: false }],
  ] as const;
  for (const [type, flags] of repeats) {
    it(`a ${type} that repeats the current flag is ignored, not sent to the machine`, () => {
      expect(verdict({ flags }, { type })).toMatchObject({ kind: "ignore", why: "redundant" });
    });
  }
});

describe("analyzeWire: their requests", () => {
  const req = { type: "request", index: 2, begin: BLOCK, length: BLOCK } as const;
  const span = { index: 2, begin: BLOCK, length: BLOCK };
  const have2 = bits([2]);

  it("serves a request when unchoked, the piece is ours and the queue has room", () => {
    expect(verdict({ ...unchoked, ours: have2 }, req)).toEqual({ kind: "serve", ...span });
  });

  it("while choking: rejects with fast, drops silently without (BEP 3)", () => {
    expect(verdict({ ours: have2 }, req)).toEqual({ kind: "rejectRequest", reason: "choked", ...span });
    expect(verdict({ ours: have2, features: PLAIN }, req)).toEqual({ kind: "dropRequest", reason: "choked", ...span });
  });

  it("while choking, serves a piece we allowed fast -- only when fast is on", () => {
    const allowed = new Set([2]);
    expect(verdict({ ours: have2, allowedFastToThem: allowed }, req)).toEqual({ kind: "serve", ...span });
    expect(verdict({ ours: have2, allowedFastToThem: allowed, features: PLAIN }, req)).toMatchObject({ kind: "dropRequest", reason: "choked" });
  });

  it("a piece we lack: rejected with fast, dropped without", () => {
    expect(verdict({ ...unchoked }, req)).toEqual({ kind: "rejectRequest", reason: "dontHave", ...span });
    expect(verdict({ ...unchoked, features: PLAIN }, req)).toEqual({ kind: "dropRequest", reason: "dontHave", ...span });
  });

  it("a request already queued is ignored (the queue holds one per block)", () => {
    expect(verdict({ ...unchoked, ours: have2, uploads: uploadQueue([{ piece: 2, begin: BLOCK, length: 100 }]) }, req)).toMatchObject({
      kind: "ignore",
      why: "duplicateRequest",
    });
  });

  it("a full queue: rejected with fast, the link closed without (we advertised the bound)", () => {
    const full = uploadQueue([{ piece: 2, begin: 0, length: BLOCK }], 1);
    expect(verdict({ ...unchoked, ours: have2, uploads: full }, req)).toEqual({ kind: "rejectRequest", reason: "queueFull", ...span });
    expect(verdict({ ...unchoked, ours: have2, uploads: full, features: PLAIN }, req)).toMatchObject({
      kind: "close",
      reason: "uploadQueueOverflow",
    });
  });

  it("a cancel of a queued request: removed, and answered with a reject only under fast", () => {
    const queued = uploadQueue([{ piece: 2, begin: BLOCK, length: BLOCK }]);
    const cancel = { type: "cancel", ...span } as const;
    expect(verdict({ uploads: queued }, cancel)).toEqual({ kind: "cancelServe", ...span, answer: "reject" });
    expect(verdict({ uploads: queued, features: PLAIN }, cancel)).toEqual({ kind: "cancelServe", ...span, answer: "none" });
  });

  it("a cancel for nothing queued (or another length) is ignored", () => {
    expect(verdict({}, { type: "cancel", ...span })).toMatchObject({ kind: "ignore", why: "cancelNotQueued" });
    const queued = uploadQueue([{ piece: 2, begin: BLOCK, length: 100 }]);
    expect(verdict({ uploads: queued }, { type: "cancel", ...span })).toMatchObject({ kind: "ignore", why: "cancelNotQueued" });
  });
});

describe("analyzeWire: blocks and answers to our requests", () => {
  const asked = requestSet([{ piece: 9, begin: 0, length: 1000 }]);

  it("a block we requested", () => {
    const block = Buffer.alloc(1000, 7);
    expect(verdict({ outstanding: asked }, { type: "piece", index: 9, begin: 0, block })).toEqual({
      kind: "block",
      index: 9,
      begin: 0,
      block,
      unsnub: undefined,
    });
  });

  it("a block on a snubbed link also unsnubs it", () => {
    expect(verdict({ outstanding: asked, flags: { snubbed: true } }, { type: "piece", index: 9, begin: 0, block: Buffer.alloc(1000) }))
      .toMatchObject({ kind: "block", unsnub: { type: "UNSNUBBED" } });
  });

  it("a block nobody asked for, or of another length, is unrequested (counted, not a close)", () => {
    expect(verdict({}, { type: "piece", index: 9, begin: 0, block: Buffer.alloc(1000) })).toMatchObject({ kind: "unrequestedBlock" });
    expect(verdict({ outstanding: asked }, { type: "piece", index: 9, begin: 0, block: Buffer.alloc(999) })).toMatchObject({
      kind: "unrequestedBlock",
      index: 9,
      begin: 0,
    });
  });

  it("a reject of an outstanding request gives it back; of anything else is ignored", () => {
    expect(verdict({ outstanding: asked }, { type: "reject", index: 9, begin: 0, length: 1000 })).toEqual({
      kind: "requestRejected",
      index: 9,
      begin: 0,
      length: 1000,
    });
    expect(verdict({ outstanding: asked }, { type: "reject", index: 9, begin: 0, length: 999 })).toMatchObject({
      kind: "ignore",
      why: "rejectNotRequested",
    });
  });
});

describe("analyzeWire: hints, extensions and noise", () => {
  it("suggest and allowed fast name pieces we lack; for pieces we have they are ignored", () => {
    expect(verdict({}, { type: "suggest", index: 5 })).toEqual({ kind: "suggest", index: 5 });
    expect(verdict({}, { type: "allowedFast", index: 5 })).toEqual({ kind: "allowedFast", index: 5 });
    expect(verdict({ ours: bits([5]) }, { type: "suggest", index: 5 })).toMatchObject({ kind: "ignore", why: "alreadyHave" });
    expect(verdict({ ours: bits([5]) }, { type: "allowedFast", index: 5 })).toMatchObject({ kind: "ignore", why: "alreadyHave" });
  });

  it("passes the extended handshake on", () => {
    const handshake = { extensions: new Map([["ut_metadata", 2]]), requestQueue: 500 };
    expect(verdict({}, { type: "extendedHandshake", handshake })).toEqual({ kind: "extendedHandshake", handshake });
  });

  it("names an extended message by the id we announced; ignores ids we did not", () => {
    const payload = Buffer.from("d8:msg_typei0ee");
    expect(verdict({}, { type: "extended", extId: 3, payload })).toEqual({ kind: "extension", name: "ut_metadata", extId: 3, payload });
    expect(verdict({}, { type: "extended", extId: 4, payload })).toMatchObject({ kind: "ignore", why: "unknownExtension" });
  });

  it("ignores keep-alives and DHT ports", () => {
    expect(verdict({}, { type: "keepAlive" })).toMatchObject({ kind: "ignore", why: "keepAlive" });
    expect(verdict({}, { type: "port", port: 6881 })).toMatchObject({ kind: "ignore", why: "dhtPort" });
  });
});

describe("openingAfter: the first-message rule", () => {
  const cases: readonly (readonly [WireEvent, Opening])[] = [
    [{ type: "keepAlive" }, "awaitingPieces"],
    [{ type: "extendedHandshake", handshake: { extensions: new Map() } }, "awaitingPieces"],
    [{ type: "port", port: 1 }, "awaitingPieces"],
    // A libtorrent that came with a magnet link asks for the metadata (and says upload_only) before it has pieces to tell.
    [{ type: "extended", extId: 2, payload: Buffer.from("d8:msg_typei0e5:piecei0ee") }, "awaitingPieces"],
    [{ type: "bitfield", bits: Buffer.alloc(2) }, "open"],
    [{ type: "haveNone" }, "open"],
    [{ type: "have", index: 1 }, "open"],
    [{ type: "interested" }, "open"],
    [{ type: "violation", reason: "badLength", detail: "" }, "open"],
  ];
  for (const [event, after] of cases) {
    it(`${event.type} leaves the opening ${after}`, () => {
      expect(openingAfter("awaitingPieces", event)).toBe(after);
      expect(openingAfter("open", event)).toBe("open");
    });
  }

  it("a bitfield after the extended handshake and a keep-alive is still first", () => {
    let opening: Opening = "awaitingPieces";
    for (const e of [{ type: "extendedHandshake", handshake: { extensions: new Map() } }, { type: "keepAlive" }] as const) {
      opening = openingAfter(opening, e);
    }
    expect(verdict({ opening }, { type: "bitfield", bits: Buffer.alloc(2) })).toMatchObject({ kind: "peerPieces" });
  });
});

describe("uploadsOnChoke", () => {
  const queued = [
    { piece: 1, begin: 0, length: BLOCK },
    { piece: 2, begin: 0, length: BLOCK },
  ];

  it("drops every queued request without fast", () => {
    expect(uploadsOnChoke(uploadQueue(queued), PLAIN, new Set([1]))).toEqual({ kind: "chokeUploads", drop: queued, reject: [] });
  });

  it("with fast, rejects all but the allowed-fast ones, which stay queued", () => {
    expect(uploadsOnChoke(uploadQueue(queued), FAST, new Set([1]))).toEqual({ kind: "chokeUploads", drop: [], reject: [queued[1]] });
  });
});

describe("coverage of the verdict union", () => {
  // Records keyed by the union: adding a kind or a reason without listing it here fails to compile.
  const allKinds: Record<WireVerdictKind, true> = {
    close: true,
    peerPieces: true,
    peerHas: true,
    stateChange: true,
    choked: true,
    block: true,
    unrequestedBlock: true,
    serve: true,
    rejectRequest: true,
    dropRequest: true,
    cancelServe: true,
    requestRejected: true,
    allowedFast: true,
    suggest: true,
    extendedHandshake: true,
    extension: true,
    ignore: true,
  };
  const allCloses: Record<ProtocolCloseReason, true> = { violation: true, bitfieldNotFirst: true, uploadQueueOverflow: true };

  afterAll(() => {
    // Runs after the tables above: each kind and each close reason was produced by one of them.
    expect([...reachedKinds].sort()).toEqual(Object.keys(allKinds).sort());
    expect([...reachedCloses].sort()).toEqual(Object.keys(allCloses).sort());
  });

  it("a Bitfield from haveAll is a fresh set, not shared between links", () => {
    const a = verdict({ opening: "awaitingPieces" }, { type: "haveAll" });
    const b = verdict({ opening: "awaitingPieces" }, { type: "haveAll" });
    if (a.kind !== "peerPieces" || b.kind !== "peerPieces") throw new Error("unreachable");
    expect(a.set).not.toBe(b.set);
    expect(a.set).toBeInstanceOf(Bitfield);
  });
});
