import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createHashPool,
  createInlineHasher,
  hashWorkerFile,
  oneShotHasher,
  pieceBuffer,
  POOL_MIN_PAYLOAD_BYTES,
  type PieceHasher,
} from "../../src/storage/hashPool.js";

const sha1 = (data: Uint8Array): Buffer => createHash("sha1").update(data).digest();

describe("hashWorkerFile", () => {
  it("finds the compiled worker under dist/ when this module runs from TypeScript sources", () => {
    expect(hashWorkerFile()).toMatch(/\/dist\/src\/storage\/hashWorker\.js$/);
  });

  it("uses the worker beside a compiled module", () => {
    const compiled = new URL("../../dist/src/storage/hashPool.js", import.meta.url).href;
    expect(hashWorkerFile(compiled)).toBe(hashWorkerFile());
  });

  it("finds the same worker from the CLI bundle, where this module's code is inlined", () => {
    const bundle = new URL("../../dist/src/cli/swarmsup.mjs", import.meta.url).href;
    expect(hashWorkerFile(bundle)).toBe(hashWorkerFile());
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

    it("reads and hashes file pieces itself, with missing and failed verdicts", async () => {
      const dir = await mkdtemp(join(tmpdir(), "swarmsup-filepiece-"));
      try {
        const data = randomBytes(3000);
        await writeFile(join(dir, "a"), data);
        await mkdir(join(dir, "d"));
        await symlink(join(dir, "loop"), join(dir, "loop"));
        const files = { a: join(dir, "a"), gone: join(dir, "gone"), d: join(dir, "d"), loop: join(dir, "loop") };
        const read = (fileIndex: number, path: string, fileOffset: number, length: number) => ({
          fileIndex,
          path,
          fileOffset,
          pieceOffset: 0,
          length,
        });
        const results = await hasher.sha1OfFilePieces([
          { piece: 0, size: 1000, reads: [read(0, files.a, 0, 1000)], zeros: [] },
          { piece: 1, size: 1500, reads: [{ ...read(0, files.a, 2500, 500) }], zeros: [{ pieceOffset: 500, length: 1000 }] },
          { piece: 2, size: 1000, reads: [read(0, files.a, 2500, 1000)], zeros: [] },
          { piece: 3, size: 10, reads: [read(1, files.gone, 0, 10)], zeros: [] },
          { piece: 4, size: 10, reads: [read(2, files.d, 0, 10)], zeros: [] },
          { piece: 5, size: 10, reads: [read(3, files.loop, 0, 10)], zeros: [] },
        ]);
        expect(results.slice(0, 2)).toEqual([
          { kind: "hashed", digest: sha1(data.subarray(0, 1000)) },
          { kind: "hashed", digest: sha1(Buffer.concat([data.subarray(2500), Buffer.alloc(1000)])) },
        ]);
        expect(results.slice(2, 5)).toEqual([
          { kind: "missing", fileIndex: 0, reason: "short" },
          { kind: "missing", fileIndex: 1, reason: "absent" },
          { kind: "missing", fileIndex: 2, reason: "notAFile" },
        ]);
        expect(results[5]).toMatchObject({ kind: "failed", path: files.loop, message: expect.stringMatching(/ELOOP/) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
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

describe("oneShotHasher", () => {
  it("hashes small jobs inline and large ones on the pool", async () => {
    expect(oneShotHasher(POOL_MIN_PAYLOAD_BYTES - 1).kind).toBe("inline");
    const pool = oneShotHasher(POOL_MIN_PAYLOAD_BYTES);
    try {
      expect(pool.kind).toBe("pool");
    } finally {
      await pool.close();
    }
  });
});

describe("createHashPool lifecycle", () => {
  it("rejects a nonsensical thread count", () => {
    expect(() => createHashPool({ threads: 0 })).toThrow(RangeError);
  });

  it("closes idempotently", async () => {
    const pool = createHashPool({ threads: 1 });
    expect(pool.parallelism).toBe(1);
    await Promise.all([pool.close(), pool.close()]);
  });

  it("refuses work once closed instead of starting threads nobody closes", async () => {
    const pool = createHashPool({ threads: 1 });
    await pool.close();
    await expect(pool.sha1(new ArrayBuffer(16))).rejects.toThrow(/closed/);
  });
});
