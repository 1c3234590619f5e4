/**
 * swarmsup `get` (a CLI process) downloads from a libtorrent 2.0 seed: a multi-file payload
 * with a nested directory, a zero-length file and sizes that do not divide the piece
 * length, both as a v1-only torrent and as libtorrent's default v1+v2 hybrid (BEP 47 pad
 * files between the files), each made by libtorrent. Every file's sha256 must equal the
 * original's, and no pad file may appear on disk.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeInterop, libtorrentMissing } from "../helpers/interop.js";
import { awkwardPayload, digestTree, ltCreate, ltEvent, runCli, sortedEntries, startLtPeer, stoppedAfterEach, suiteDir, writePayload } from "../helpers/swarm.js";

describeInterop("pair: swarmsup get <- libtorrent seed", libtorrentMissing, () => {
  const root = suiteDir("pair-lt-seed", (dir) => writePayload(join(dir, "orig", "top"), awkwardPayload(6)));
  const running = stoppedAfterEach();

  for (const { mode, pieceLength } of [
    { mode: "v1", pieceLength: 64 * 1024 },
    { mode: "hybrid", pieceLength: 256 * 1024 },
  ] as const) {
    it(`downloads a multi-file ${mode} torrent made by libtorrent`, async () => {
      const torrent = join(root(), `${mode}.torrent`);
      const made = await ltCreate(join(root(), "orig", "top"), torrent, mode, pieceLength);
      expect(made).toMatchObject({ padFiles: expect.any(Number) });
      if (mode === "hybrid") expect(made.padFiles).toBeGreaterThan(0);
      else expect(made.padFiles).toBe(0);

      const seed = startLtPeer(`lt seed ${mode}`, ["seed", torrent, join(root(), "orig"), "--lifetime", "60"]);
      running.push(seed);
      const port = Number((await ltEvent(seed, "seeding", 20_000)).port);
      expect(port).toBeGreaterThan(0);

      const out = join(root(), `out-${mode}`);
      const got = await runCli(`get ${mode}`, ["get", torrent, "-o", out, "--peer", `127.0.0.1:${port}`, "--timeout", "40", "--json"], 50_000);
      expect(got.code, got.stderr).toBe(0);
      expect(got.json).toMatchObject({ infoHash: made.infoHash, hashFails: 0, peers: 1 });
      const summary = got.json as { bytes: number; downloaded: number };
      expect(summary.downloaded).toBe(summary.bytes);

      const want = sortedEntries(await digestTree(join(root(), "orig", "top")));
      expect(want.map(([path]) => path)).toContain("empty.txt");
      expect(sortedEntries(await digestTree(join(out, "top")))).toEqual(want);
    }, 60_000);
  }
});
