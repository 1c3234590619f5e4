import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Runtime } from "../../src/runtime/index.js";
import { ReadAhead, type WindowSource } from "../../actors/io/readAhead.js";
import type { PayloadLayout } from "../../src/storage/layout.js";

const KiB = 1024;

function layoutOf(total: number, pieceLength: number): PayloadLayout {
  return { pieceLength, pieceCount: Math.ceil(total / pieceLength), length: total, files: [{ path: ["x"], length: total, offset: 0, pad: false }] };
}

/** The payload in memory, counting the reads that reach it. */
class CountingSource implements WindowSource {
  reads = 0;
  failNext = false;
  constructor(
    readonly data: Buffer,
    readonly pieceLength: number,
  ) {}
  async readBlock(_via: unknown, piece: number, begin: number, length: number): Promise<Buffer> {
    this.reads++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error("disk gone");
    }
    const at = piece * this.pieceLength + begin;
    return Buffer.from(this.data.subarray(at, at + length));
  }
}

describe("upload read-ahead", () => {
  const rt = new Runtime();

  it("serves every block of a window from one read, bytes right, last piece short", async () => {
    const pieceLength = 512 * KiB;
    const data = randomBytes(pieceLength * 2 + 40 * KiB + 7);
    const src = new CountingSource(data, pieceLength);
    const ra = new ReadAhead(layoutOf(data.length, pieceLength), src, 256 * KiB);
    for (let piece = 0; piece < 3; piece++) {
      const size = Math.min(pieceLength, data.length - piece * pieceLength);
      for (let begin = 0; begin < size; begin += 16 * KiB) {
        const len = Math.min(16 * KiB, size - begin);
        const got = await ra.readBlock(rt, piece, begin, len);
        expect(got.equals(data.subarray(piece * pieceLength + begin, piece * pieceLength + begin + len))).toBe(true);
      }
    }
    expect(src.reads).toBe(2 + 2 + 1); // two windows per full piece, one for the short last piece
  });

  it("shares one read between concurrent asks, and keeps at most maxBytes", async () => {
    const data = randomBytes(4 * 256 * KiB);
    const src = new CountingSource(data, 256 * KiB);
    const ra = new ReadAhead(layoutOf(data.length, 256 * KiB), src, 256 * KiB, 512 * KiB);
    await Promise.all([0, 16, 32, 48].map((k) => ra.readBlock(rt, 0, k * KiB, 16 * KiB)));
    expect(src.reads).toBe(1);
    for (let piece = 1; piece < 4; piece++) await ra.readBlock(rt, piece, 0, 16 * KiB);
    expect(ra.cachedBytes).toBeLessThanOrEqual(512 * KiB);
    await ra.readBlock(rt, 0, 0, 16 * KiB); // evicted: read again
    expect(src.reads).toBe(5);
  });

  it("forgets a failed read so the next ask reads again", async () => {
    const data = randomBytes(256 * KiB);
    const src = new CountingSource(data, 256 * KiB);
    const ra = new ReadAhead(layoutOf(data.length, 256 * KiB), src);
    src.failNext = true;
    await expect(ra.readBlock(rt, 0, 0, 16 * KiB)).rejects.toThrow("disk gone");
    const got = await ra.readBlock(rt, 0, 0, 16 * KiB);
    expect(got.equals(data.subarray(0, 16 * KiB))).toBe(true);
    expect(ra.cachedBytes).toBe(256 * KiB);
  });
});
