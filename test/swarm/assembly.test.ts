import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PieceAssembly } from "../../actors/pieceMgr/assembly.js";
import { BufferPool } from "../../src/storage/bufferPool.js";
import { BLOCK_SIZE } from "../../actors/pieceMgr/picker.js";

describe("PieceAssembly", () => {
  it("any arrival order gives the piece's bytes and its SHA-1 (hashed prefix by prefix)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 * BLOCK_SIZE + 100 }).chain((size) =>
          fc.tuple(fc.constant(size), fc.shuffledSubarray([...Array(Math.ceil(size / BLOCK_SIZE)).keys()], { minLength: Math.ceil(size / BLOCK_SIZE) })),
        ),
        fc.boolean(),
        ([size, order], dirty) => {
          const piece = randomBytes(size);
          // A reused buffer holds another piece's bytes: every one must be overwritten.
          const buf = dirty ? randomBytes(size) : Buffer.alloc(size);
          const a = new PieceAssembly(buf);
          for (const [i, b] of order.entries()) {
            expect(a.complete).toBe(false);
            const begin = b * BLOCK_SIZE;
            a.store(begin, piece.subarray(begin, Math.min(size, begin + BLOCK_SIZE)));
            expect(a.complete).toBe(i === order.length - 1);
          }
          expect(a.data.equals(piece)).toBe(true);
          expect(a.digest().equals(createHash("sha1").update(piece).digest())).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a block stored twice, a misaligned block and a digest before the last block", () => {
    const a = new PieceAssembly(Buffer.alloc(2 * BLOCK_SIZE));
    a.store(BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE, 1));
    expect(() => a.digest()).toThrow(/incomplete/);
    expect(() => a.store(BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE, 2))).toThrow(/twice/);
    expect(() => a.store(100, Buffer.alloc(BLOCK_SIZE))).toThrow(RangeError);
    expect(() => a.store(2 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE))).toThrow(RangeError);
  });
});

describe("BufferPool", () => {
  it("hands back a given buffer of the asked size, and keeps at most its bound", () => {
    const pool = new BufferPool(3 * 1024);
    const a = pool.take(1024);
    const b = pool.take(1024);
    const odd = pool.take(999);
    pool.give(a);
    pool.give(odd);
    expect(pool.take(1024)).toBe(a);
    expect(pool.take(1024)).not.toBe(b); // b was never given back
    pool.give(a);
    pool.give(b);
    pool.give(Buffer.alloc(1024)); // over the bound: dropped
    expect(pool.heldBytes).toBe(999 + 2048);
    expect(pool.take(999)).toBe(odd);
  });
});
