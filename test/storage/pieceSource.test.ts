import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PieceSource } from "../../src/storage/pieceSource.js";
import { layoutOf } from "./fixtures.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-source-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("PieceSource", () => {
  it("reads correct bytes with many reads at once and fewer descriptors than files", async () => {
    const sizes = [700, 0, 1300, 50, 2000, 999, 1, 3000, 400, 1550];
    const layout = layoutOf(sizes.map((length) => ({ length })), 512);
    const contents = sizes.map((size) => randomBytes(size));
    const paths = sizes.map((_, i) => join(root, `f${i}`));
    await Promise.all(paths.map((path, i) => writeFile(path, contents[i] as Buffer)));
    const payload = Buffer.concat(contents);
    const source = new PieceSource(layout, paths, 2);
    try {
      const reads = await Promise.all(Array.from({ length: layout.pieceCount }, (_, i) => source.readPiece(i)));
      for (const [i, read] of reads.entries()) {
        expect(read.kind).toBe("read");
        if (read.kind === "read") expect(read.data.equals(payload.subarray(i * 512, (i + 1) * 512))).toBe(true);
      }
    } finally {
      await source.close();
    }
  });

  it("fills a reused buffer of the right size and ignores one of the wrong size", async () => {
    const path = join(root, "reuse");
    const bytes = randomBytes(1000);
    await writeFile(path, bytes);
    const source = new PieceSource(layoutOf([{ length: 1000 }], 600), [path]);
    try {
      const reuse = Buffer.alloc(600);
      const first = await source.readPiece(0, reuse);
      expect(first.kind === "read" && first.data).toBe(reuse);
      expect(reuse.equals(bytes.subarray(0, 600))).toBe(true);
      const last = await source.readPiece(1, Buffer.alloc(600));
      expect(last.kind === "read" && last.data.length).toBe(400);
    } finally {
      await source.close();
    }
  });

  it("zero-fills pad spans without touching the disk", async () => {
    const path = join(root, "before-pad");
    await writeFile(path, Buffer.alloc(100, 7));
    const layout = layoutOf([{ length: 100 }, { length: 156, pad: true }], 256);
    const source = new PieceSource(layout, [path, join(root, "no-such-pad-file")]);
    try {
      const read = await source.readPiece(0, Buffer.alloc(256, 0xee));
      expect(read.kind).toBe("read");
      if (read.kind === "read") expect(read.data.equals(Buffer.concat([Buffer.alloc(100, 7), Buffer.alloc(156)]))).toBe(true);
    } finally {
      await source.close();
    }
  });
});
