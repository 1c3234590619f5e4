import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetainfo } from "../../src/protocol/metainfo.js";
import { createTorrent, hashPayload } from "../../src/storage/create.js";
import { resolveDataFiles } from "../../src/storage/dataPath.js";
import { createHashPool, createInlineHasher, type PieceHasher } from "../../src/storage/hashPool.js";
import { scanPayload } from "../../src/storage/scan.js";
import { verifyPayload } from "../../src/storage/verify.js";
import { flipByte, pieceHashesOf } from "./fixtures.js";

let root: string;
let pool: PieceHasher;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-create-"));
  pool = createHashPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

/** Writes `files` (relative path -> size) under a fresh directory named `name`; returns it and the concatenation. */
async function writeTree(name: string, files: [string, number][]): Promise<{ top: string; payload: Buffer }> {
  const top = join(root, `case${counter++}`, name);
  const parts: Buffer[] = [];
  for (const [path, size] of files) {
    const bytes = randomBytes(size);
    await mkdir(dirname(join(top, path)), { recursive: true });
    await writeFile(join(top, path), bytes);
    parts.push(bytes);
  }
  return { top, payload: Buffer.concat(parts) };
}

async function verifyAt(torrent: Buffer, dataPath: string, hasher: PieceHasher = pool) {
  const meta = parseMetainfo(torrent);
  return verifyPayload({ meta, paths: resolveDataFiles(meta, { kind: "dataPath", path: dataPath }), hasher });
}

describe("createTorrent", () => {
  it("makes a single-file torrent whose pieces hash the file, the last piece short", async () => {
    const { top, payload } = await writeTree("single", [["movie.bin", 100_000]]);
    const file = join(top, "movie.bin");
    const progress: [number, number][] = [];
    const { torrent, metainfo } = await createTorrent({
      path: file,
      hasher: pool,
      pieceLength: 16_384,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(metainfo.layout).toBe("single");
    expect(metainfo.name).toBe("movie.bin");
    expect(metainfo.pieceCount).toBe(7); // 6 x 16 KiB + 1696
    expect(metainfo.pieceHashes.equals(pieceHashesOf(payload, 16_384))).toBe(true);
    expect(progress.at(-1)).toEqual([100_000, 100_000]);
    expect(parseMetainfo(torrent).infoHashHex).toBe(metainfo.infoHashHex);
    expect(await verifyAt(torrent, file)).toEqual({ pieces: 7, valid: 7, invalid: [], missing: [] });
  });

  it("makes a multi-file torrent in byte order, zero-length files kept, pieces across files", async () => {
    const { top } = await writeTree("album", [
      ["b.bin", 20_000],
      ["a/empty", 0],
      ["a/x.bin", 5_000],
      ["c.bin", 40_001],
    ]);
    const { torrent, metainfo } = await createTorrent({ path: top, hasher: pool, pieceLength: 16_384 });
    expect(metainfo.layout).toBe("multi");
    expect(metainfo.files.map((f) => [f.path.join("/"), f.length])).toEqual([
      ["album/a/empty", 0],
      ["album/a/x.bin", 5_000],
      ["album/b.bin", 20_000],
      ["album/c.bin", 40_001],
    ]);
    expect(metainfo.pieceCount).toBe(Math.ceil(65_001 / 16_384));
    expect(await verifyAt(torrent, top)).toEqual({ pieces: 4, valid: 4, invalid: [], missing: [] });
  });

  it("chooses the piece length when none is given and carries every option", async () => {
    const { top } = await writeTree("opts", [["f", 3 * 1024 * 1024]]);
    const { metainfo } = await createTorrent({
      path: top,
      hasher: pool,
      name: "renamed",
      announce: ["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969"],
      webSeeds: ["http://127.0.0.1:8080/files/"],
      private: true,
      comment: "test",
      createdBy: "swarmsup/test",
      creationDate: 1_700_000_000,
    });
    expect(metainfo.pieceLength).toBe(16_384); // 3 MiB / 16 KiB = 192 pieces: already under 2048
    expect(metainfo.name).toBe("renamed");
    expect(metainfo.files[0]?.path).toEqual(["renamed", "f"]);
    expect(metainfo.announce).toBe("http://127.0.0.1:6969/announce");
    expect(metainfo.announceList).toEqual([["http://127.0.0.1:6969/announce"], ["udp://127.0.0.1:6969"]]);
    expect(metainfo.urlList).toEqual(["http://127.0.0.1:8080/files/"]);
    expect(metainfo.private).toBe(true);
    expect(metainfo.comment).toBe("test");
    expect(metainfo.createdBy).toBe("swarmsup/test");
    expect(metainfo.creationDate).toBe(1_700_000_000);
  });

  it("gives the same hashes on the pool and inline", async () => {
    const { top } = await writeTree("same", [["a", 70_000], ["b", 1], ["c", 33_333]]);
    const scanned = await scanPayload(top);
    const inline = await hashPayload(scanned, { pieceLength: 32_768, hasher: createInlineHasher() });
    for (const strategy of ["workerReads", "transfer"] as const) {
      expect((await hashPayload(scanned, { pieceLength: 32_768, hasher: pool, strategy })).equals(inline)).toBe(true);
    }
  });

  it("refuses a piece length that is not a power of two in range", async () => {
    const { top } = await writeTree("bad", [["a", 10]]);
    await expect(createTorrent({ path: top, hasher: pool, pieceLength: 20_000 })).rejects.toThrow(/power of two/);
  });

  it("fails when a file shrinks between the scan and the hashing", async () => {
    const { top } = await writeTree("shrinks", [["a", 100_000]]);
    const scanned = await scanPayload(top);
    await truncate(join(top, "a"), 50_000);
    for (const strategy of ["workerReads", "transfer"] as const) {
      await expect(hashPayload(scanned, { pieceLength: 16_384, hasher: pool, strategy })).rejects.toThrow(/changed while it was being hashed/);
    }
  });
});

describe("verify after create", () => {
  it("finds a flipped byte invalid and a truncated or deleted file missing", async () => {
    const { top } = await writeTree("damaged", [["a", 50_000], ["b", 50_000], ["c", 50_000]]);
    const { torrent } = await createTorrent({ path: top, hasher: pool, pieceLength: 16_384 });
    await flipByte(join(top, "c"), 49_999); // payload byte 149_999: the last piece, 9
    await truncate(join(top, "a"), 40_000); // piece 2 (32_768..49_151) and 3 (..65_535) need bytes past 40_000
    expect(await verifyAt(torrent, top)).toEqual({ pieces: 10, valid: 7, invalid: [9], missing: [2, 3] });
    await rm(join(top, "b")); // bytes 50_000..99_999: pieces 3..6
    expect(await verifyAt(torrent, top, createInlineHasher())).toEqual({ pieces: 10, valid: 4, invalid: [9], missing: [2, 3, 4, 5, 6] });
  });
});
