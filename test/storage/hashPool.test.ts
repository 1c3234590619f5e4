import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHashPool, createInlineHasher, hashWorkerFile, pieceBuffer, type PieceHasher } from "../../src/storage/hashPool.js";

const sha1 = (data: Uint8Array): Buffer => createHash("sha1").update(data).digest();

describe("hashWorkerFile", () => {
  it("finds the compiled worker under dist/ when this module runs from TypeScript sources", () => {
    expect(hashWorkerFile()).toMatch(/\/dist\/src\/storage\/hashWorker\.js$/);
  });

  it("uses the worker beside a compiled module", () => {
    const compiled = new URL("../../dist/src/storage/hashPool.js", import.meta.url).href;
    expect(hashWorkerFile(compiled)).toBe(hashWorkerFile());
  });

  it("says to build when the worker is not there", () => {
    expect(() => hashWorkerFile("file:///nowhere/storage/hashPool.js")).toThrow(/npm run build/);
  });
});

describe("pieceBuffer", () => {
  it("owns its whole ArrayBuffer, so transferring it moves only the piece", () => {
    const buffer = pieceBuffer(100);
    expect(buffer.byteOffset).toBe(0);
    expect(buffer.buffer.byteLength).toBe(100);
  });
});

function hasherContract(name: string, make: () => PieceHasher, transfers: boolean): void {
  describe(name, () => {
    let hasher: PieceHasher;
    beforeAll(() => {
      hasher = make();
    });
    afterAll(async () => {
      await hasher.close();
    });

    it("hashes pieces of any size, many at once", async () => {
      const pieces = [0, 1, 20, 16_384, 100_001, 1 << 20].map((size) => {
        const piece = pieceBuffer(size);
        randomBytes(size).copy(piece);
        return piece;
      });
      const expected = pieces.map(sha1);
      const digests = await Promise.all(pieces.map((piece) => hasher.sha1(piece.buffer as ArrayBuffer)));
      expect(digests.map((d) => d.toString("hex"))).toEqual(expected.map((d) => d.toString("hex")));
      expect(digests.every((d) => Buffer.isBuffer(d) && d.length === 20)).toBe(true);
    });

    it(transfers ? "moves the piece to the worker (detached here)" : "leaves the piece in place", async () => {
      const piece = pieceBuffer(4096).fill(7);
      const ab = piece.buffer as ArrayBuffer;
      await hasher.sha1(ab);
      expect(ab.byteLength).toBe(transfers ? 0 : 4096);
    });

    it("hands the bytes back with sha1Keep", async () => {
      const piece = pieceBuffer(65_536);
      randomBytes(65_536).copy(piece);
      const expected = Buffer.from(piece);
      const { digest, piece: back } = await hasher.sha1Keep(piece.buffer as ArrayBuffer);
      expect(digest.equals(sha1(expected))).toBe(true);
      expect(Buffer.from(back).equals(expected)).toBe(true);
    });
  });
}

hasherContract("createHashPool", () => createHashPool({ threads: 2 }), true);
hasherContract("createInlineHasher", createInlineHasher, false);

describe("createHashPool lifecycle", () => {
  it("rejects a nonsensical thread count", () => {
    expect(() => createHashPool({ threads: 0 })).toThrow(RangeError);
  });

  it("closes idempotently", async () => {
    const pool = createHashPool({ threads: 1 });
    expect(pool.parallelism).toBe(1);
    await Promise.all([pool.close(), pool.close()]);
  });
});
