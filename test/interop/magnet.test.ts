/**
 * Magnet links against libtorrent 2.0 (BEP 9 metadata exchange over BEP 10), both ways:
 * swarmsup `get <magnet>` fetches the info dict from a libtorrent seed and then the payload;
 * libtorrent (lt_peer.py leech-magnet) does the same from a `swarmsup seed`. The single-file
 * cases carry an info dict larger than 16 KiB, so the metadata travels as several pieces
 * (the last one short). A magnet nobody has must fail with exit 1 and say "metadata".
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { parseMetainfo } from "../../src/protocol/metainfoParse.js";
import { describeInterop, libtorrentMissing } from "../helpers/interop.js";
import {
  MiB,
  awkwardPayload,
  digestTree,
  ltCreate,
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
  type LineProcess,
} from "../helpers/swarm.js";

/** BEP 9 sends the info dict in 16 KiB pieces. */
const METADATA_PIECE = 16 * 1024;
// 16 KiB pieces of 14 MiB and change: 897 pieces, an ~18 KB info dict (two metadata pieces),
// and a last piece shorter than the rest.
const SINGLE = { name: "single.bin", size: 14 * MiB + 12_345, pieceLength: 16 * 1024 };

describeInterop("magnet: BEP 9 metadata exchange with libtorrent", libtorrentMissing, () => {
  const root = suiteDir("magnet", async (dir) => {
    await randomFile(join(dir, "orig", SINGLE.name), SINGLE.size);
    await writePayload(join(dir, "orig", "top"), awkwardPayload(4));
  });
  const running = stoppedAfterEach();

  /** A libtorrent seed of `torrent` (its data under orig/); resolves with its port. */
  async function ltSeed(label: string, torrent: string): Promise<number> {
    const seed = startLtPeer(label, ["seed", torrent, join(root(), "orig"), "--lifetime", "90"]);
    running.push(seed);
    const port = Number((await ltEvent(seed, "seeding", 20_000)).port);
    expect(port).toBeGreaterThan(0);
    return port;
  }

  for (const { name, mode, pieceLength, bigInfo } of [
    { name: SINGLE.name, mode: "v1", pieceLength: SINGLE.pieceLength, bigInfo: true },
    { name: "top", mode: "hybrid", pieceLength: 64 * 1024, bigInfo: false },
  ] as const) {
    it(`swarmsup gets a ${name === "top" ? "multi-file hybrid" : "single-file"} magnet from a libtorrent seed`, async () => {
      const torrent = join(root(), `lt-${name}.torrent`);
      const { infoHash } = await ltCreate(join(root(), "orig", name), torrent, mode, pieceLength);
      if (bigInfo) expect(await infoSize(torrent)).toBeGreaterThan(METADATA_PIECE);
      const port = await ltSeed(`lt seed ${name}`, torrent);

      const out = join(root(), `got-${name}`);
      const magnet = `magnet:?xt=urn:btih:${infoHash}&dn=${encodeURIComponent(name)}`;
      const got = await runCli(`get magnet ${name}`, ["get", magnet, "-o", out, "--peer", `127.0.0.1:${port}`, "--json", "--timeout", "60"], 70_000);
      expect(got.code, got.stderr).toBe(0);
      expect(got.json).toMatchObject({ infoHash, hashFails: 0 });

      const want = sortedEntries(await digestTree(join(root(), "orig", name)));
      expect(sortedEntries(await digestTree(join(out, name)))).toEqual(want);
    }, 80_000);
  }

  for (const { name, pieceLength, files, bigInfo } of [
    { name: SINGLE.name, pieceLength: SINGLE.pieceLength, files: 1, bigInfo: true },
    { name: "top", pieceLength: 64 * 1024, files: 5, bigInfo: false },
  ]) {
    it(`libtorrent gets a ${files > 1 ? "multi-file" : "single-file"} magnet from a swarmsup seed`, async () => {
      const data = join(root(), "orig", name);
      const torrent = join(root(), `ss-${name}.torrent`);
      const made = await runCli("create", ["create", data, "-o", torrent, "--piece-length", String(pieceLength), "--json"], 30_000);
      expect(made.code, made.stderr).toBe(0);
      const { infoHash, pieces } = made.json as { infoHash: string; pieces: number };
      if (bigInfo) expect(await infoSize(torrent)).toBeGreaterThan(METADATA_PIECE);

      const seed = startCli(`seed ${name}`, ["seed", torrent, data, "--port", "0", "--host", "127.0.0.1"]);
      running.push(seed);
      const port = await seedPort(seed, 20_000);

      const out = join(root(), `lt-${name}`);
      const leech = startLtPeer(`lt leech-magnet ${name}`, ["leech-magnet", `magnet:?xt=urn:btih:${infoHash}`, out, "--peer", `127.0.0.1:${port}`, "--timeout", "30"]);
      running.push(leech);
      expect(await ltStep(leech, "metadata", 35_000)).toMatchObject({ name, pieces });
      await ltStep(leech, "complete", 35_000);
      expect(await leech.exitCode(10_000), leech.stderr).toBe(0);

      const want = sortedEntries(await digestTree(data));
      expect(want.length).toBe(files);
      expect(sortedEntries(await digestTree(join(out, name)))).toEqual(want);
      expect(seed.child.exitCode, "the seed outlives its leecher").toBeNull();
    }, 80_000);
  }

  it("swarmsup gives up on a magnet nobody has, saying it found no metadata", async () => {
    const torrent = join(root(), "other.torrent");
    await ltCreate(join(root(), "orig", "top"), torrent, "v1", 64 * 1024);
    const port = await ltSeed("lt seed of another torrent", torrent);

    const stranger = randomBytes(20).toString("hex");
    const got = await runCli("get unknown magnet", ["get", `magnet:?xt=urn:btih:${stranger}`, "-o", join(root(), "got-nothing"), "--peer", `127.0.0.1:${port}`, "--timeout", "5"], 20_000);
    expect(got.code, got.stderr).toBe(1);
    expect(got.stderr).toMatch(/metadata/i);
  }, 30_000);
});

/** ltEvent, failing with what the libtorrent peer printed (its timeout line says which stage). */
async function ltStep(p: LineProcess, event: string, timeoutMs: number): Promise<Record<string, unknown>> {
  try {
    return await ltEvent(p, event, timeoutMs);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; stdout: ${p.lines.join(" | ")}`);
  }
}

/** Bytes of the torrent's info dict: what BEP 9 transfers. */
async function infoSize(torrent: string): Promise<number> {
  return parseMetainfo(await readFile(torrent)).infoBytes.length;
}
