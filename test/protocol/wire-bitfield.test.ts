import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Bitfield, bitfieldByteLength } from "../../src/protocol/wire/index.js";

describe("Bitfield", () => {
  it("puts piece 0 in the high bit of byte 0 and keeps spare bits zero", () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    expect(b.bytes).toEqual(Buffer.from([0x80, 0x40]));
    expect(Bitfield.full(10).bytes).toEqual(Buffer.from([0xff, 0xc0]));
    expect(Bitfield.full(16).bytes).toEqual(Buffer.from([0xff, 0xff]));
    expect(Bitfield.full(10).count).toBe(10);
  });

  it("refuses a peer's bytes of the wrong length or with spare bits", () => {
    expect(Bitfield.fromBytes(10, Buffer.from([0xff]))).toMatchObject({ type: "violation", reason: "badBitfieldLength" });
    expect(Bitfield.fromBytes(10, Buffer.from([0xff, 0xe0]))).toMatchObject({ type: "violation", reason: "spareBitsSet" });
    const ok = Bitfield.fromBytes(10, Buffer.from([0xff, 0xc0]));
    expect(ok instanceof Bitfield && ok.complete).toBe(true);
  });

  it("copies a peer's bytes (a later change to the receive buffer does not leak in)", () => {
    const src = Buffer.from([0x80]);
    const b = Bitfield.fromBytes(8, src);
    src[0] = 0xff;
    expect(b instanceof Bitfield && b.count).toBe(1);
  });

  it("throws on indices outside the torrent (our bug, not input)", () => {
    const b = new Bitfield(3);
    expect(() => b.set(3)).toThrow(RangeError);
    expect(() => b.has(-1)).toThrow(RangeError);
    expect(() => b.firstMissingFrom(new Bitfield(4))).toThrow(RangeError);
  });

  it("agrees with a Set on has, count, indices, firstMissing and firstMissingFrom", () => {
    const ops = fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 60 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), ops, ops, fc.nat(), (n, mine, theirs, fromSeed) => {
        const apply = (list: [boolean, number][]) => {
          const bits = new Bitfield(n);
          const model = new Set<number>();
          for (const [add, raw] of list) {
            const i = raw % n;
            if (add) {
              bits.set(i);
              model.add(i);
            } else {
              bits.clear(i);
              model.delete(i);
            }
          }
          return { bits, model };
        };
        const a = apply(mine);
        const b = apply(theirs);
        const from = fromSeed % (n + 1);
        const sorted = [...a.model].sort((x, y) => x - y);
        expect([...a.bits.indices()]).toEqual(sorted);
        expect(a.bits.count).toBe(a.model.size);
        expect(a.bits.complete).toBe(a.model.size === n);
        const firstMissing = Array.from({ length: n }, (_, i) => i).find((i) => i >= from && !a.model.has(i)) ?? -1;
        expect(a.bits.firstMissing(from)).toBe(firstMissing);
        const firstWanted = [...b.model].filter((i) => i >= from && !a.model.has(i)).sort((x, y) => x - y)[0] ?? -1;
        expect(a.bits.firstMissingFrom(b.bits, from)).toBe(firstWanted);
        expect(a.bits.bytes).toHaveLength(bitfieldByteLength(n));
        const copy = Bitfield.fromBytes(n, a.bits.bytes);
        expect(copy instanceof Bitfield && [...copy.indices()]).toEqual(sorted);
        expect(copy instanceof Bitfield && copy.count).toBe(a.model.size);
        const clone = a.bits.clone();
        if (n > 0) clone.set(0);
        expect(a.bits.has(0)).toBe(a.model.has(0));
      }),
      { numRuns: 3000 },
    );
  });
});
