/**
 * `swarmsup get <magnet-uri>` between two swarmsup processes (the libtorrent cases are in
 * test/interop/magnet.test.ts): the metadata comes over BEP 9 from the peer we are given,
 * then the download runs as for a .torrent; and the magnet's own usage errors.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Metainfo } from "../../src/protocol/types.js";
import { KiB, removeDir, runCli, seedPort, sha256File, singleFileTorrent, startCli, stoppedAfterEach, tempDir } from "../helpers/swarm.js";

const procs = stoppedAfterEach();

/** A payload of `size` bytes in 16 KiB pieces, its torrent made by `swarmsup create`, and a `swarmsup seed` of it on 127.0.0.1. */
async function seeded(dir: string, name: string, size: number): Promise<{ meta: Metainfo; path: string; port: number }> {
  const { meta, path } = await singleFileTorrent(dir, name, size, 16 * KiB);
  const torrentFile = join(dir, `${name}.torrent`);
  const made = await runCli("create", ["create", path, "-o", torrentFile, "--piece-length", String(16 * KiB), "--json"], 60_000);
  expect(made.code).toBe(0);
  const seed = startCli("seed", ["seed", torrentFile, path, "--port", "0", "--host", "127.0.0.1"]);
  procs.push(seed);
  return { meta, path, port: await seedPort(seed, 30_000) };
}

describe("swarmsup get <magnet-uri>", () => {
  it("gets the metadata (several 16 KiB pieces of it) from a swarmsup seed, then the data into DIR/<name>", async () => {
    const dir = await tempDir("magnet-cli-");
    try {
      // 1,500 pieces: 30 KB of hashes, so the info dictionary is two metadata pieces.
      const { meta, path, port } = await seeded(dir, "payload.bin", 1500 * 16 * KiB - 123);
      expect(meta.infoBytes.length).toBeGreaterThan(16 * KiB);
      const out = join(dir, "out");
      const magnet = `magnet:?xt=urn:btih:${meta.infoHashHex}&dn=payload.bin`;
      const got = await runCli("get", ["get", magnet, "-o", out, "--peer", `127.0.0.1:${port}`, "--json", "--timeout", "60"], 90_000);
      expect(got.code, got.stderr).toBe(0);
      expect(got.json).toMatchObject({ infoHash: meta.infoHashHex, bytes: meta.length, downloaded: meta.length, hashFails: 0 });
      expect(await sha256File(join(out, "payload.bin"))).toBe(await sha256File(path));
    } finally {
      await removeDir(dir);
    }
  });

  it("takes the link's x.pe peers, for the metadata and for the download", async () => {
    const dir = await tempDir("magnet-xpe-");
    try {
      const { meta, path, port } = await seeded(dir, "xpe.bin", 300 * 16 * KiB + 7);
      const out = join(dir, "out");
      const got = await runCli("get", ["get", `magnet:?xt=urn:btih:${meta.infoHashHex}&x.pe=127.0.0.1:${port}`, "-o", out, "--json", "--timeout", "60"], 90_000);
      expect(got.code, got.stderr).toBe(0);
      expect(got.json).toMatchObject({ infoHash: meta.infoHashHex, downloaded: meta.length });
      expect(await sha256File(join(out, "xpe.bin"))).toBe(await sha256File(path));
    } finally {
      await removeDir(dir);
    }
  });

  it("refuses a magnet with nobody to ask (exit 2), and a malformed one (exit 2)", async () => {
    const alone = await runCli("get", ["get", `magnet:?xt=urn:btih:${"ab".repeat(20)}`, "-o", "/tmp/unused-magnet"], 30_000);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/needs a peer to ask for its metadata/);
    const bad = await runCli("get", ["get", "magnet:?xt=urn:btih:xyz", "-o", "/tmp/unused-magnet"], 30_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/magnet link/);
  });
});
