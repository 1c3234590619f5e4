import { randomBytes } from "node:crypto";
import fc from "fast-check";
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

  it("a source that answers with bytes of its own (not in the buffer it was given): that buffer is dropped, never reused", async () => {
    const data = randomBytes(2 * 256 * KiB);
    const src = new CountingSource(data, 256 * KiB);
    const ra = new ReadAhead(layoutOf(data.length, 256 * KiB), src, 256 * KiB, 256 * KiB);
    const block = await ra.readBlock(rt, 0, 0, 16 * KiB);
    ra.release(block);
    await ra.readBlock(rt, 1, 0, 16 * KiB); // window 0 leaves the cache
    expect(ra.freeBuffers).toBe(0);
  });
});

/** The payload in memory, read into the buffer the reader hands over (as TorrentIo does). */
class IntoSource implements WindowSource {
  reads = 0;
  failNext = false;
  readonly targets: Buffer[] = [];
  constructor(
    readonly data: Buffer,
    readonly pieceLength: number,
  ) {}
  async readBlock(_via: unknown, piece: number, begin: number, length: number, into?: Buffer): Promise<Buffer> {
    this.reads++;
    if (into !== undefined) this.targets.push(into);
    if (this.failNext) {
      this.failNext = false;
      throw new Error("disk gone");
    }
    const at = piece * this.pieceLength + begin;
    const target = into ?? Buffer.allocUnsafe(length);
    this.data.copy(target, 0, at, at + length);
    return target;
  }
}

describe("upload read-ahead: reused window buffers", () => {
  const rt = new Runtime();
  const W = 256 * KiB;

  it("reuses a window's buffer only once it left the cache and each of its blocks came back", async () => {
    const data = randomBytes(6 * W);
    const src = new IntoSource(data, W);
    const ra = new ReadAhead(layoutOf(data.length, W), src, W, 2 * W);
    const held = await ra.readBlock(rt, 0, 0, 16 * KiB); // window 0, kept
    for (let piece = 1; piece < 4; piece++) ra.release(await ra.readBlock(rt, piece, 0, 16 * KiB));
    // Windows 0 and 1 left the cache; 1 came back and is free, 0 is still held.
    expect(ra.freeBuffers).toBe(1);
    for (let piece = 4; piece < 6; piece++) ra.release(await ra.readBlock(rt, piece, 0, 16 * KiB));
    expect(held.equals(data.subarray(0, 16 * KiB))).toBe(true); // never overwritten
    expect(new Set(src.targets.map((b) => b.buffer)).has(held.buffer)).toBe(true);
    expect(src.targets.filter((b) => b.buffer === held.buffer)).toHaveLength(1); // read into once only
    ra.release(held);
    expect(ra.freeBuffers).toBeGreaterThanOrEqual(2);
    const again = await ra.readBlock(rt, 0, 16 * KiB, 16 * KiB);
    expect(again.equals(data.subarray(16 * KiB, 32 * KiB))).toBe(true);
  });

  it("a second release of a block, or a release of another slice of the window, unpins nothing", async () => {
    const data = randomBytes(4 * W);
    const src = new IntoSource(data, W);
    const ra = new ReadAhead(layoutOf(data.length, W), src, W, W);
    const a = await ra.readBlock(rt, 0, 0, 16 * KiB);
    const b = await ra.readBlock(rt, 0, 16 * KiB, 16 * KiB);
    ra.release(a);
    ra.release(a);
    ra.release(b.subarray(0, 100));
    for (let piece = 1; piece < 4; piece++) ra.release(await ra.readBlock(rt, piece, 0, 16 * KiB));
    expect(b.equals(data.subarray(16 * KiB, 32 * KiB))).toBe(true); // b still pins window 0
    expect(src.targets.filter((t) => t.buffer === b.buffer)).toHaveLength(1);
    ra.release(b);
    expect(ra.freeBuffers).toBeGreaterThanOrEqual(1);
  });

  it("never reuses the buffer of a failed read", async () => {
    const data = randomBytes(W);
    const src = new IntoSource(data, W);
    const ra = new ReadAhead(layoutOf(data.length, W), src);
    src.failNext = true;
    await expect(ra.readBlock(rt, 0, 0, 16 * KiB)).rejects.toThrow("disk gone");
    expect(ra.freeBuffers).toBe(0);
    const got = await ra.readBlock(rt, 0, 0, 16 * KiB);
    expect(got.equals(data.subarray(0, 16 * KiB))).toBe(true);
    expect(src.targets[1]?.buffer).not.toBe(src.targets[0]?.buffer);
  });

  it("property: whatever the order of reads and releases, a block not yet released keeps its bytes", async () => {
    const pieces = 8;
    const data = randomBytes(pieces * W);
    const command = fc.oneof(
      fc.record({ t: fc.constant("read" as const), piece: fc.integer({ min: 0, max: pieces - 1 }), block: fc.integer({ min: 0, max: W / (16 * KiB) - 1 }) }),
      fc.record({ t: fc.constant("release" as const), which: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), async (commands, cacheWindows) => {
        const src = new IntoSource(data, W);
        const ra = new ReadAhead(layoutOf(data.length, W), src, W, cacheWindows * W);
        const held: { block: Buffer; at: number }[] = [];
        for (const c of commands) {
          if (c.t === "read") {
            const at = c.piece * W + c.block * 16 * KiB;
            held.push({ block: await ra.readBlock(rt, c.piece, c.block * 16 * KiB, 16 * KiB), at });
          } else if (held.length > 0) {
            const [gone] = held.splice(c.which % held.length, 1);
            if (gone !== undefined) ra.release(gone.block);
          }
          for (const h of held) expect(h.block.equals(data.subarray(h.at, h.at + 16 * KiB))).toBe(true);
        }
        expect(ra.cachedBytes).toBeLessThanOrEqual(cacheWindows * W);
      }),
      { numRuns: 200 },
    );
  });
});
