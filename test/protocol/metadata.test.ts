import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeMetadataData,
  encodeMetadataReject,
  encodeMetadataRequest,
  MAX_METADATA_BYTES,
  METADATA_PIECE_BYTES,
  MetadataAssembly,
  metadataPieceCount,
  metadataPieceLength,
  parseMetadataMessage,
  type MetadataAdd,
  type MetadataMessage,
} from "../../src/protocol/wire/metadata.js";
import { WireUsageError } from "../../src/protocol/wire/types.js";
import { mutate, mutationArb } from "./bencode.fuzz.js";

const PIECE = METADATA_PIECE_BYTES;

function parsed(payload: Buffer): MetadataMessage {
  const r = parseMetadataMessage(payload);
  if (r.type !== "ok") throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.message;
}

function badDetail(payload: Buffer): string {
  const r = parseMetadataMessage(payload);
  if (r.type !== "bad") throw new Error(`expected bad, got ${JSON.stringify(r)}`);
  return r.detail;
}

const text = (s: string): Buffer => Buffer.from(s, "latin1");
const sha1 = (b: Uint8Array): Buffer => createHash("sha1").update(b).digest();

/** Seed-dependent bytes repeating every 251 (a prime, so no two 16 KiB pieces are alike). */
function metadataBytes(size: number, seed: number): Buffer {
  const pattern = Buffer.from(Array.from({ length: 251 }, (_, i) => (i * 31 + seed * 7) & 0xff));
  return Buffer.alloc(size, pattern);
}

/** Buffer equality without vitest's element-by-element diffing (slow on 16 KiB buffers). */
function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

function pieceOf(info: Buffer, piece: number): Buffer {
  return info.subarray(piece * PIECE, piece * PIECE + metadataPieceLength(info.length, piece));
}

describe("ut_metadata piece geometry", () => {
  it("splits into 16 KiB pieces, the last one shorter", () => {
    expect(metadataPieceCount(1)).toBe(1);
    expect(metadataPieceCount(PIECE)).toBe(1);
    expect(metadataPieceCount(PIECE + 1)).toBe(2);
    expect(metadataPieceLength(PIECE, 0)).toBe(PIECE);
    expect(metadataPieceLength(PIECE + 1, 0)).toBe(PIECE);
    expect(metadataPieceLength(PIECE + 1, 1)).toBe(1);
    expect(metadataPieceCount(MAX_METADATA_BYTES)).toBe(512);
  });

  it("refuses a piece that does not exist or a size that is not positive", () => {
    expect(() => metadataPieceLength(PIECE + 1, 2)).toThrow(WireUsageError);
    expect(() => metadataPieceLength(PIECE, -1)).toThrow(WireUsageError);
    expect(() => metadataPieceCount(0)).toThrow(WireUsageError);
    expect(() => metadataPieceCount(1.5)).toThrow(WireUsageError);
  });
});

describe("ut_metadata messages round-trip", () => {
  it("request", () => {
    const payload = encodeMetadataRequest(7);
    expect(payload.toString("latin1")).toBe("d8:msg_typei0e5:piecei7ee");
    expect(parsed(payload)).toEqual({ type: "request", piece: 7 });
  });

  it("reject", () => {
    const payload = encodeMetadataReject(0);
    expect(payload.toString("latin1")).toBe("d8:msg_typei2e5:piecei0ee");
    expect(parsed(payload)).toEqual({ type: "reject", piece: 0 });
  });

  it("data, a full piece and a short last piece", () => {
    const info = metadataBytes(PIECE + 100, 1);
    for (const piece of [0, 1]) {
      const message = parsed(encodeMetadataData(piece, info.length, pieceOf(info, piece)));
      expect(message).toEqual({ type: "data", piece, totalSize: info.length, data: pieceOf(info, piece) });
    }
  });

  it("property: any valid message survives encode then parse", () => {
    const dataMessage = fc
      .integer({ min: 1, max: 3 * PIECE })
      .chain((totalSize) => fc.record({ totalSize: fc.constant(totalSize), piece: fc.integer({ min: 0, max: metadataPieceCount(totalSize) - 1 }) }));
    fc.assert(
      fc.property(fc.nat(), dataMessage, (piece, d) => {
        expect(parsed(encodeMetadataRequest(piece))).toEqual({ type: "request", piece });
        expect(parsed(encodeMetadataReject(piece))).toEqual({ type: "reject", piece });
        const bytes = metadataBytes(metadataPieceLength(d.totalSize, d.piece), d.piece);
        const message = parsed(encodeMetadataData(d.piece, d.totalSize, bytes));
        if (message.type !== "data") throw new Error(`expected data, got ${message.type}`);
        expect({ piece: message.piece, totalSize: message.totalSize }).toEqual(d);
        expectSameBytes(message.data, bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("encoders refuse what the parser would reject", () => {
    expect(() => encodeMetadataRequest(-1)).toThrow(WireUsageError);
    expect(() => encodeMetadataReject(0.5)).toThrow(WireUsageError);
    expect(() => encodeMetadataData(0, 0, Buffer.alloc(0))).toThrow(WireUsageError);
    expect(() => encodeMetadataData(0, MAX_METADATA_BYTES + 1, Buffer.alloc(PIECE))).toThrow(WireUsageError);
    expect(() => encodeMetadataData(1, 10, Buffer.alloc(10))).toThrow(WireUsageError);
    expect(() => encodeMetadataData(0, 10, Buffer.alloc(9))).toThrow(WireUsageError);
  });
});

describe("ut_metadata parsing of other clients' bytes", () => {
  it("reads libtorrent's data message: the dict, then the raw piece, which is a view of the payload", () => {
    const raw = metadataBytes(3425, 2);
    const payload = Buffer.concat([text("d8:msg_typei1e5:piecei0e10:total_sizei3425ee"), raw]);
    const message = parsed(payload);
    expect(message).toMatchObject({ type: "data", piece: 0, totalSize: 3425 });
    if (message.type !== "data") throw new Error("unreachable");
    expect(message.data).toEqual(raw);
    expect(message.data.buffer).toBe(payload.buffer);
    expect(message.data.byteOffset).toBe(payload.byteOffset + payload.length - 3425);
  });

  it("ignores unknown keys, sorted or not", () => {
    expect(parsed(text("d8:msg_typei0e5:piecei2e3:zzzli1eee"))).toEqual({ type: "request", piece: 2 });
    expect(parsed(text("d5:piecei3e8:msg_typei2e1:a3:xyze"))).toEqual({ type: "reject", piece: 3 });
  });
});

describe("ut_metadata unknown types", () => {
  it("a msg_type BEP 9 does not define is `unknown` (to be ignored), whatever its other keys", () => {
    expect(parseMetadataMessage(text("d8:msg_typei3e5:piecei0ee"))).toEqual({ type: "unknown", msgType: 3 });
    expect(parseMetadataMessage(text("d8:msg_typei77ee"))).toEqual({ type: "unknown", msgType: 77 });
  });
});

describe("ut_metadata parse rejections", () => {
  const data = (dict: string, length: number): Buffer => Buffer.concat([text(dict), Buffer.alloc(length)]);
  const cases: readonly (readonly [name: string, payload: Buffer, field: string])[] = [
    ["not bencode", text("x"), "bencode"],
    ["truncated dict", text("d8:msg_typei0e5:piecei0e"), "bencode"],
    ["not a dict", text("li0ee"), "dictionary"],
    ["msg_type missing", text("d5:piecei0ee"), "msg_type"],
    ["msg_type not an integer", text("d8:msg_type1:05:piecei0ee"), "msg_type"],
    ["piece missing", text("d8:msg_typei0ee"), "piece"],
    ["piece not an integer", text("d8:msg_typei0e5:piece1:0e"), "piece"],
    ["piece negative", text("d8:msg_typei0e5:piecei-1ee"), "piece -1"],
    ["request with bytes after the dict", text("d8:msg_typei0e5:piecei0eeXY"), "2 bytes after"],
    ["reject with bytes after the dict", text("d8:msg_typei2e5:piecei0eeZ"), "1 bytes after"],
    ["data without total_size", data("d8:msg_typei1e5:piecei0ee", 10), "total_size"],
    ["data with total_size 0", text("d8:msg_typei1e5:piecei0e10:total_sizei0ee"), "total_size 0"],
    ["data with total_size over the limit", data(`d8:msg_typei1e5:piecei0e10:total_sizei${MAX_METADATA_BYTES + 1}ee`, PIECE), "total_size 8388609"],
    ["data piece out of range", data("d8:msg_typei1e5:piecei1e10:total_sizei16384ee", PIECE), "piece 1 is out of range"],
    ["data shorter than its piece", data("d8:msg_typei1e5:piecei0e10:total_sizei3425ee", 3424), "3424 bytes, expected 3425"],
    ["data longer than its piece", data("d8:msg_typei1e5:piecei0e10:total_sizei16385ee", PIECE + 1), "16385 bytes, expected 16384"],
    ["nesting deeper than a flat message needs", text("d8:msg_typei0e5:piecei0e1:xlllleeeee"), "nesting"],
  ];

  it.each(cases)("%s", (_name, payload, field) => {
    expect(badDetail(payload)).toContain(field);
  });

  it("property: random bytes never make it throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(["ok", "bad", "unknown"]).toContain(parseMetadataMessage(Buffer.from(bytes)).type);
      }),
      { numRuns: 5_000 },
    );
  });

  it("property: damaged valid messages never make it throw, and what passes is consistent", () => {
    const seeds = [encodeMetadataRequest(3), encodeMetadataReject(12), encodeMetadataData(1, PIECE + 40, Buffer.alloc(40, 7))];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), mutationArb, (seed, mutations) => {
        const r = parseMetadataMessage(mutate(seed, mutations));
        if (r.type === "ok" && r.message.type === "data") {
          expect(r.message.data.length).toBe(metadataPieceLength(r.message.totalSize, r.message.piece));
        }
      }),
      { numRuns: 5_000 },
    );
  });
});

describe("MetadataAssembly", () => {
  function assemble(info: Buffer, order: readonly number[], assembly = new MetadataAssembly(sha1(info), info.length)): MetadataAdd[] {
    return order.map((piece) => assembly.add(piece, info.length, pieceOf(info, piece)));
  }

  it("property: pieces in any order give back exactly the original bytes", () => {
    const sizeAndOrder = fc
      .integer({ min: 1, max: 5 * PIECE + 1 })
      .chain((size) => fc.tuple(fc.constant(size), fc.shuffledSubarray([...Array(metadataPieceCount(size)).keys()], { minLength: metadataPieceCount(size) })));
    fc.assert(
      fc.property(sizeAndOrder, fc.nat(255), ([size, order], seed) => {
        const info = metadataBytes(size, seed);
        const results = assemble(info, order);
        const last = results.pop();
        expect(results).toEqual(results.map((_, i) => ({ kind: "stored", missing: order.length - 1 - i })));
        if (last?.kind !== "complete") throw new Error(`expected complete, got ${JSON.stringify(last)}`);
        expectSameBytes(last.infoBytes, info);
      }),
      { numRuns: 60 },
    );
  });

  it("lists the missing pieces in ascending order", () => {
    const info = metadataBytes(4 * PIECE, 3);
    const assembly = new MetadataAssembly(sha1(info), info.length);
    expect(assembly.pieceCount).toBe(4);
    expect(assembly.totalSize).toBe(4 * PIECE);
    assemble(info, [2, 0], assembly);
    expect(assembly.missing()).toEqual([1, 3]);
  });

  it("a wrong byte gives hashMismatch and a reset; the right pieces then complete", () => {
    const info = metadataBytes(2 * PIECE + 5, 4);
    const assembly = new MetadataAssembly(sha1(info), info.length);
    const corrupt = Buffer.from(pieceOf(info, 1));
    corrupt[100] = (corrupt[100] ?? 0) ^ 1;
    expect(assembly.add(0, info.length, pieceOf(info, 0)).kind).toBe("stored");
    expect(assembly.add(1, info.length, corrupt).kind).toBe("stored");
    const mismatch = assembly.add(2, info.length, pieceOf(info, 2));
    const damaged = Buffer.concat([pieceOf(info, 0), corrupt, pieceOf(info, 2)]);
    expect(mismatch).toEqual({ kind: "hashMismatch", expected: sha1(info).toString("hex"), actual: sha1(damaged).toString("hex") });
    expect(assembly.missing()).toEqual([0, 1, 2]);
    expect(assemble(info, [2, 1, 0], assembly).at(-1)).toEqual({ kind: "complete", infoBytes: info });
  });

  it("a total size other than its own is inconsistent, and nothing is stored", () => {
    const info = metadataBytes(PIECE + 1, 5);
    const assembly = new MetadataAssembly(sha1(info), info.length);
    const r = assembly.add(0, info.length + 1, pieceOf(info, 0));
    expect(r.kind).toBe("inconsistent");
    expect(r.kind === "inconsistent" && r.detail).toContain("total_size 16386");
    expect(assembly.missing()).toEqual([0, 1]);
  });

  it("a piece out of range or of the wrong length is inconsistent", () => {
    const info = metadataBytes(PIECE + 1, 6);
    const assembly = new MetadataAssembly(sha1(info), info.length);
    expect(assembly.add(2, info.length, Buffer.alloc(1))).toMatchObject({ kind: "inconsistent", detail: expect.stringContaining("piece 2") });
    expect(assembly.add(-1, info.length, Buffer.alloc(PIECE))).toMatchObject({ kind: "inconsistent", detail: expect.stringContaining("piece -1") });
    expect(assembly.add(1, info.length, Buffer.alloc(2))).toMatchObject({ kind: "inconsistent", detail: expect.stringContaining("2 bytes, expected 1") });
    expect(assembly.missing()).toEqual([0, 1]);
  });

  it("a piece received twice is a duplicate and does not overwrite the first", () => {
    const info = metadataBytes(2 * PIECE, 7);
    const assembly = new MetadataAssembly(sha1(info), info.length);
    assemble(info, [0], assembly);
    expect(assembly.add(0, info.length, Buffer.alloc(PIECE))).toEqual({ kind: "duplicate", piece: 0 });
    expect(assemble(info, [1], assembly)).toEqual([{ kind: "complete", infoBytes: info }]);
    expect(assembly.add(1, info.length, pieceOf(info, 1))).toEqual({ kind: "duplicate", piece: 1 });
  });

  it("refuses a total size outside 1..MAX_METADATA_BYTES and an info-hash that is not 20 bytes", () => {
    const hash = Buffer.alloc(20);
    expect(() => new MetadataAssembly(hash, 0)).toThrow(RangeError);
    expect(() => new MetadataAssembly(hash, MAX_METADATA_BYTES + 1)).toThrow(RangeError);
    expect(() => new MetadataAssembly(hash, 1.5)).toThrow(RangeError);
    expect(() => new MetadataAssembly(Buffer.alloc(32), 10)).toThrow(RangeError);
    expect(new MetadataAssembly(hash, MAX_METADATA_BYTES).pieceCount).toBe(512);
  });
});
