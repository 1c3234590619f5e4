/**
 * libtorrent 2.0 downloads from a swarmsup seed (a `swarmsup seed` CLI process), torrents
 * made by `swarmsup create`: libtorrent dials us (connect_peer), so our listener, handshake
 * hand-over and upload path serve a real client. Single-file and multi-file; sha256 equal.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeInterop, libtorrentMissing } from "../helpers/interop.js";
import {
  MiB,
  awkwardPayload,
  digestTree,
  ltEvent,
  randomFile,
  runCli,
  seedPort,
  sortedEntries,
  startCli,
  startLtPeer,
  stoppedAfterEach,
  suiteDir,
  writePayload,
} from "../helpers/swarm.js";

describeInterop("pair: libtorrent leech <- swarmsup seed", libtorrentMissing, () => {
  const root = suiteDir("pair-lt-leech", async (dir) => {
    await randomFile(join(dir, "orig", "single.bin"), 8 * MiB + 4321);
    await writePayload(join(dir, "orig", "top"), awkwardPayload(8));
  });
  const running = stoppedAfterEach();

  for (const { name, files, pieceLength } of [
    { name: "single.bin", files: 1, pieceLength: 256 * 1024 },
    { name: "top", files: 5, pieceLength: 64 * 1024 },
  ]) {
    it(`libtorrent downloads ${files > 1 ? "a multi-file" : "a single-file"} torrent from a swarmsup seed`, async () => {
      const data = join(root(), "orig", name);
      const torrent = join(root(), `${name}.torrent`);
      const made = await runCli("create", ["create", data, "-o", torrent, "--piece-length", String(pieceLength), "--json"], 30_000);
      expect(made.code, made.stderr).toBe(0);

      const seed = startCli(`seed ${name}`, ["seed", torrent, data, "--port", "0"]);
      running.push(seed);
      const port = await seedPort(seed, 20_000);

      const out = join(root(), `lt-${name}`);
      const leech = startLtPeer(`lt leech ${name}`, ["leech", torrent, out, "--peer", `127.0.0.1:${port}`, "--timeout", "40"]);
      running.push(leech);
      const done = await ltEvent(leech, "complete", 50_000);
      expect(await leech.exitCode(10_000), leech.stderr).toBe(0);
      expect(done.downloaded).toBeGreaterThanOrEqual((made.json as { bytes: number }).bytes);

      const want = sortedEntries(await digestTree(data));
      expect(want.length).toBe(files);
      expect(sortedEntries(await digestTree(join(out, name)))).toEqual(want);
      expect(seed.child.exitCode, "the seed outlives its leecher").toBeNull();
    }, 60_000);
  }
});
