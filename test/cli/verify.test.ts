import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLine, runCli } from "../storage/runCli.js";

let root: string;
let multiTorrent: string;
let singleTorrent: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-cli-verify-"));
  await mkdir(join(root, "album"));
  await writeFile(join(root, "album", "a.bin"), randomBytes(40_000));
  await writeFile(join(root, "album", "b.bin"), randomBytes(40_000));
  await writeFile(join(root, "single.bin"), randomBytes(50_000));
  multiTorrent = join(root, "album.torrent");
  singleTorrent = join(root, "single.torrent");
  for (const [data, out] of [[join(root, "album"), multiTorrent], [join(root, "single.bin"), singleTorrent]] as const) {
    const run = await runCli(["create", data, "-o", out, "--json"]);
    if (run.code !== 0) throw new Error(`create failed: ${run.stderr}`);
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the album to damage. */
async function albumCopy(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  for (const file of ["a.bin", "b.bin"]) await writeFile(join(dir, file), await readFile(join(root, "album", file)));
  return dir;
}

describe("swarmsup verify", () => {
  it("exits 0 with the contract's JSON when every piece is valid, even under another directory name", async () => {
    const dir = await albumCopy("renamed-album");
    const run = await runCli(["verify", multiTorrent, dir, "--json"]);
    expect(run.code).toBe(0);
    expect(jsonLine(run)).toEqual({ pieces: 5, valid: 5, invalid: [], missing: [] });
    expect(run.stderr).toBe("");
  });

  it("verifies a single-file torrent against the file itself", async () => {
    const run = await runCli(["verify", singleTorrent, join(root, "single.bin"), "--json"]);
    expect(run.code).toBe(0);
    expect(jsonLine(run)).toEqual({ pieces: 4, valid: 4, invalid: [], missing: [] });
  });

  it("exits 1 and still prints the JSON when pieces are invalid or missing", async () => {
    const dir = await albumCopy("damaged");
    const a = await readFile(join(dir, "a.bin"));
    a[0] = (a[0] ?? 0) ^ 0xff; // piece 0
    await writeFile(join(dir, "a.bin"), a);
    await truncate(join(dir, "b.bin"), 30_000); // payload 70_000..79_999: piece 4 (65_536..)
    const run = await runCli(["verify", multiTorrent, dir, "--json"]);
    expect(run.code).toBe(1);
    expect(jsonLine(run)).toEqual({ pieces: 5, valid: 3, invalid: [0], missing: [4] });
    expect(run.stderr.trim()).toBe("swarmsup: verify: 2 of 5 pieces failed (1 invalid, 1 missing)");
  });

  it("hashes a payload of 128 MiB or more on the worker pool, and exits when done", async () => {
    const big = join(root, "big.bin");
    await writeFile(big, "");
    await truncate(big, 128 * 1024 * 1024); // sparse: zeros that cost no disk
    const torrent = join(root, "big.torrent");
    const debug = { SWARMSUP_LOG: "debug" };
    const created = await runCli(["create", big, "-o", torrent, "--json"], debug);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/"hasher":"pool","parallelism":\d+.*"hasher chosen"/);
    const verified = await runCli(["verify", torrent, big, "--json"], debug);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toMatch(/"hasher":"pool"/);
    expect(jsonLine(verified)).toEqual({ pieces: 2048, valid: 2048, invalid: [], missing: [] });
    const small = await runCli(["verify", singleTorrent, join(root, "single.bin"), "--json"], debug);
    expect(small.stderr).toMatch(/"hasher":"inline"/);
  });

  it("prints a human summary without --json", async () => {
    const dir = await albumCopy("human");
    await rm(join(dir, "b.bin"));
    const run = await runCli(["verify", multiTorrent, dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("5 pieces: 2 valid, 0 invalid, 3 missing\nmissing: 2, 3, 4\n");
  });

  it("exits 2 with the parser's message for a garbage .torrent", async () => {
    const garbage = join(root, "garbage.torrent");
    await writeFile(garbage, "this is not bencode");
    const run = await runCli(["verify", garbage, join(root, "album"), "--json"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/garbage\.torrent: torrent: .*bencode/);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("exits 2 for a .torrent that is valid bencode but not metainfo", async () => {
    const bad = join(root, "bad-info.torrent");
    await writeFile(bad, "d4:infod4:name1:x12:piece lengthi-5eee");
    const run = await runCli(["verify", bad, join(root, "album")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad-info\.torrent: info/);
  });

  it("exits 2 when the .torrent cannot be read or arguments are missing", async () => {
    expect((await runCli(["verify", join(root, "nope.torrent"), join(root, "album")])).code).toBe(2);
    expect((await runCli(["verify", multiTorrent])).code).toBe(2);
    expect((await runCli(["verify", multiTorrent, join(root, "album"), "--bogus"])).code).toBe(2);
  });

  it("exits 1 with one line when the data path is missing or the wrong kind", async () => {
    const missing = await runCli(["verify", multiTorrent, join(root, "no-such-album"), "--json"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/no-such-album/);
    const dirForSingle = await runCli(["verify", singleTorrent, join(root, "album")]);
    expect(dirForSingle.code).toBe(1);
    expect(dirForSingle.stderr).toMatch(/single-file torrent: give the file itself/);
    const fileForMulti = await runCli(["verify", multiTorrent, join(root, "single.bin")]);
    expect(fileForMulti.code).toBe(1);
    expect(fileForMulti.stderr).toMatch(/multi-file torrent: give its top directory/);
  });
});
