/**
 * The resume path through a whole node (torrent_sup's tree, hash_pool, torrent_ctl's
 * check, resume_writer's save at an orderly stop), in process.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SwarmNode } from "../../src/node.js";
import { resolveDataFiles } from "../../src/storage/dataPath.js";
import { readResume, resumeFileOf } from "../../src/storage/resume.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { layoutOf, metainfoOf, pieceHashesOf } from "./fixtures.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-resume-node-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PIECE = 16 * 1024;

async function downloadDirWithPayload(): Promise<{ dir: string; meta: Metainfo; paths: string[] }> {
  const dir = await mkdtemp(join(root, "dl-"));
  const layout = layoutOf([{ length: 5 * PIECE + 100 }, { length: 3 * PIECE }], PIECE);
  const payload = randomBytes(layout.length);
  const meta = metainfoOf(layout, pieceHashesOf(payload, PIECE));
  const paths = resolveDataFiles(meta, { kind: "downloadDir", dir });
  const past = new Date(Date.now() - 60_000);
  for (const [i, f] of layout.files.entries()) {
    const path = paths[i] as string;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, payload.subarray(f.offset, f.offset + f.length));
    await utimes(path, past, past);
  }
  return { dir, meta, paths };
}

/** Starts a node with the torrent, waits for its start-up check, stops the node; returns the check's summary. */
async function startAndStop(meta: Metainfo, dir: string) {
  const node = await SwarmNode.start();
  try {
    await node.addTorrent({ meta, location: { kind: "downloadDir", dir } });
    const stats = await node.await(meta.infoHashHex, "checked", 10_000);
    return { stats, startup: stats.startup };
  } finally {
    await node.stop();
  }
}

describe("resume through a node", () => {
  it("a first start reads everything and the orderly stop saves; the next start trusts it all and reads nothing", async () => {
    const { dir, meta, paths } = await downloadDirWithPayload();
    const first = await startAndStop(meta, dir);
    expect(first.startup).toMatchObject({ source: "fullCheck", why: "noResume", read: meta.pieceCount, valid: meta.pieceCount });
    expect(first.stats.phase).toBe("seeding");

    const saved = await readResume(resumeFileOf(meta, paths), meta);
    expect(saved.kind === "decoded" && saved.data.have.equals(Buffer.from([0xff, 0x80]))).toBe(true); // all 9 pieces

    const second = await startAndStop(meta, dir);
    expect(second.startup).toMatchObject({ source: "resume", trusted: meta.pieceCount, read: 0, skipped: 0 });
    expect(second.stats).toMatchObject({ phase: "seeding", have: meta.pieceCount });
  });

  it("a torn resume file is ignored (full check); a file cut short costs only its own pieces", async () => {
    const { dir, meta, paths } = await downloadDirWithPayload();
    await startAndStop(meta, dir);
    const file = resumeFileOf(meta, paths);
    await truncate(file, (await stat(file)).size - 1);
    const torn = await startAndStop(meta, dir);
    expect(torn.startup).toMatchObject({ source: "fullCheck", why: "rejected", read: meta.pieceCount });

    // That start saved again at its stop; now the second file (pieces 5-8) loses its tail.
    // file_io extends it back to its length (sparse) before the check, so it is seen with
    // its size right and its mtime new: "touched", and only its pieces are read.
    await truncate(paths[1] as string, PIECE);
    const resized = await startAndStop(meta, dir);
    expect(resized.startup).toMatchObject({ source: "resume", trusted: 5, read: 4, valid: 1, files: { touched: 1 } });
    expect(resized.stats).toMatchObject({ phase: "leeching", have: 6 });
  });
});
