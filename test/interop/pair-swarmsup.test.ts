/**
 * swarmsup -> swarmsup, both as CLI processes (the contract outside checks use): `create`,
 * `seed`, then `get --json` of a multi-file payload (nested directory, zero-length file,
 * sizes that do not divide the piece length). The summary's figures and every file's
 * sha256 must be right. No other client is needed, so this suite always runs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { awkwardPayload, digestTree, runCli, seedPort, sortedEntries, startCli, stoppedAfterEach, suiteDir, writePayload } from "../helpers/swarm.js";

describe("pair: swarmsup get <- swarmsup seed (CLI processes)", () => {
  const root = suiteDir("pair-swarmsup", (dir) => writePayload(join(dir, "orig", "top"), awkwardPayload(12)));
  const running = stoppedAfterEach();

  it("downloads a multi-file torrent, every byte right", async () => {
    const data = join(root(), "orig", "top");
    const torrent = join(root(), "top.torrent");
    const made = await runCli("create", ["create", data, "-o", torrent, "--piece-length", String(128 * 1024), "--json"], 30_000);
    expect(made.code, made.stderr).toBe(0);
    const { infoHash, bytes } = made.json as { infoHash: string; bytes: number };

    const seed = startCli("seed", ["seed", torrent, data, "--port", "0"]);
    running.push(seed);
    const port = await seedPort(seed, 20_000);

    const out = join(root(), "out");
    const got = await runCli("get", ["get", torrent, "-o", out, "--peer", `127.0.0.1:${port}`, "--timeout", "40", "--json"], 50_000);
    expect(got.code, got.stderr).toBe(0);
    expect(got.json).toEqual({ infoHash, bytes, downloaded: bytes, seconds: expect.any(Number), peers: 1, hashFails: 0 });

    const want = sortedEntries(await digestTree(data));
    expect(want.length).toBe(5);
    expect(sortedEntries(await digestTree(join(out, "top")))).toEqual(want);

    // The seed is still up after the leecher left, and stops cleanly on SIGTERM.
    expect(seed.child.exitCode).toBeNull();
    expect(await seed.stop()).toBe(0);
  }, 60_000);
});
