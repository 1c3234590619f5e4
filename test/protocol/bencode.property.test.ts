import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, decodeDocument, encode, type BencodeValue } from "../../src/protocol/bencode.js";
import { BencodeError } from "../../src/protocol/errors.js";
import { expectOnlyTyped, mutate, mutationArb } from "./bencode.fuzz.js";

const bytes = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));
const key = fc.uint8Array({ maxLength: 6 }).map((u) => Buffer.from(u).toString("latin1"));
const integer = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER));

const { value: bencodeValue } = fc.letrec<{ value: BencodeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    integer,
    bytes,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(key, tie("value")), { maxLength: 5, selector: ([k]) => k }).map((entries) => new Map(entries)),
  ),
}));

describe("bencode properties", () => {
  it("decode(encode(v)) equals v, and the encoding is canonical (sorted keys)", () => {
    fc.assert(
      fc.property(bencodeValue, (value) => {
        const encoded = encode(value);
        expect(decode(encoded, { keyOrder: "sorted" })).toEqual(value);
      }),
      { numRuns: 10_000 },
    );
  });

  it("encode(decode(x)) gives back x for every canonical x", () => {
    fc.assert(
      fc.property(bencodeValue, (value) => {
        const canonical = encode(value);
        expect(encode(decode(canonical))).toEqual(canonical);
      }),
      { numRuns: 5_000 },
    );
  });

  it("random bytes: a value or a BencodeError, never another throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        expectOnlyTyped(() => decode(input), [BencodeError]);
      }),
      { numRuns: 5_000 },
    );
  });

  it("mutated valid bencode: a value or a BencodeError whose offset lies in the input", () => {
    fc.assert(
      fc.property(bencodeValue, mutationArb, fc.constantFrom("any" as const, "sorted" as const), (value, mutations, keyOrder) => {
        const input = mutate(encode(value), mutations);
        try {
          const doc = decodeDocument(input, { keyOrder, maxDepth: 8 });
          expect(doc.end).toBe(input.length);
        } catch (e) {
          if (!(e instanceof BencodeError)) throw e;
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(input.length);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it("spans cut out exactly the bytes that re-decode to each top-level value", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, bencodeValue), { maxLength: 5, selector: ([k]) => k }), (entries) => {
        const input = encode(new Map(entries));
        const doc = decodeDocument(input);
        for (const [k, v] of entries) {
          const span = doc.spans.get(k);
          expect(span).toBeDefined();
          expect(decode(input.subarray(span?.start, span?.end))).toEqual(v);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
