import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RESUME_MAGIC, decodeResume, encodeResume, resumeByteLength, type FileStamp, type ResumeData } from "../../src/storage/resume/format.js";

const stamp: fc.Arbitrary<FileStamp> = fc.oneof(
  fc.constant<FileStamp>({ kind: "absent" }),
  fc.constant<FileStamp>({ kind: "pad" }),
  fc.record({
    kind: fc.constant("file" as const),
    size: fc.maxSafeNat(),
    mtimeNs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  }),
);

/** Valid resume data: the bitfield's spare bits are zero, as the format requires. */
const resumeData: fc.Arbitrary<ResumeData> = fc
  .record({
    infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    pieceCount: fc.nat({ max: 300 }),
    files: fc.array(stamp, { maxLength: 6 }),
    savedAtMs: fc.maxSafeNat(),
    seed: fc.uint8Array({ minLength: 38, maxLength: 38 }),
  })
  .map(({ infoHash, pieceCount, files, savedAtMs, seed }) => {
    const have = Buffer.from(seed.subarray(0, Math.ceil(pieceCount / 8)));
    const used = pieceCount & 7;
    if (used !== 0) have[have.length - 1] = (have[have.length - 1] ?? 0) & (0xff << (8 - used));
    return { infoHash: Buffer.from(infoHash), pieceCount, have, files, savedAtMs };
  });

const sample: ResumeData = {
  infoHash: Buffer.alloc(20, 7),
  pieceCount: 10,
  have: Buffer.from([0b10100000, 0b01000000]),
  files: [{ kind: "file", size: 12345, mtimeNs: 1_700_000_000_123_456_789n }, { kind: "pad" }, { kind: "absent" }],
  savedAtMs: 1_700_000_001_000,
};

describe("resume file format", () => {
  it("round-trips any resume data, at exactly the size it announces", () => {
    fc.assert(
      fc.property(resumeData, (data) => {
        const bytes = encodeResume(data);
        expect(bytes.length).toBe(resumeByteLength(data.pieceCount, data.files.length));
        expect(decodeResume(bytes)).toEqual({ kind: "decoded", data });
      }),
    );
  });

  it("keeps mtimes to the nanosecond", () => {
    const out = decodeResume(encodeResume(sample));
    expect(out.kind === "decoded" && out.data.files[0]).toEqual({ kind: "file", size: 12345, mtimeNs: 1_700_000_000_123_456_789n });
  });

  it("rejects every truncation of a file (a torn write)", () => {
    const bytes = encodeResume(sample);
    for (let n = 0; n < bytes.length; n++) {
      const out = decodeResume(bytes.subarray(0, n));
      expect(out.kind, `cut at ${n}`).toBe("rejected");
    }
  });

  it("rejects any single flipped byte", () => {
    fc.assert(
      fc.property(resumeData, fc.nat(), fc.integer({ min: 1, max: 255 }), (data, where, mask) => {
        const bytes = encodeResume(data);
        const at = where % bytes.length;
        bytes[at] = (bytes[at] ?? 0) ^ mask;
        expect(decodeResume(bytes).kind).toBe("rejected");
      }),
    );
  });

  it("says why: magic, checksum, version, length, spare bits, file record", () => {
    const reasonOf = (b: Buffer): string => {
      const out = decodeResume(b);
      return out.kind === "rejected" ? out.reason : "decoded";
    };
    const good = encodeResume(sample);
    expect(reasonOf(Buffer.alloc(10))).toBe("truncated");
    expect(reasonOf(Buffer.concat([Buffer.from("NOTRESUM"), good.subarray(8)]))).toBe("badMagic");
    const flipped = Buffer.from(good);
    flipped[50] = (flipped[50] ?? 0) ^ 1;
    expect(reasonOf(flipped)).toBe("badChecksum");
    // Damage that keeps the checksum right (re-sealed) is caught by the structure checks.
    expect(reasonOf(reseal(good, (b) => b.writeUInt16BE(2, 8)))).toBe("badVersion");
    expect(reasonOf(reseal(good, (b) => b.writeUInt32BE(17, 30)))).toBe("badLength");
    expect(reasonOf(reseal(good, (b) => b.writeUInt8(0b01100000, 47)))).toBe("badBitfield");
    expect(reasonOf(reseal(good, (b) => b.writeUInt8(9, 48)))).toBe("badFileRecord");
    expect(reasonOf(reseal(good, (b) => b.writeUInt8(0, 48)))).toBe("badFileRecord"); // absent with a size
    expect(good.subarray(0, 8)).toEqual(RESUME_MAGIC);
  });

  it("refuses to encode what it could not decode", () => {
    expect(() => encodeResume({ ...sample, have: Buffer.from([0, 1]) })).toThrow(/bitfield/);
    expect(() => encodeResume({ ...sample, infoHash: Buffer.alloc(19) })).toThrow(/info-hash/);
    expect(() => encodeResume({ ...sample, files: [{ kind: "file", size: -1, mtimeNs: 0n }] })).toThrow(/size/);
  });
});

/** Applies damage to the body and recomputes the trailing SHA-1, as a buggy writer would. */
function reseal(bytes: Buffer, damage: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  damage(copy);
  const body = copy.subarray(0, copy.length - 20);
  return Buffer.concat([body, createHash("sha1").update(body).digest()]);
}
