import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetainfo } from "../../src/protocol/metainfo.js";
import { parseCreateArgs } from "../../src/cli/create.js";
import { CliError } from "../../src/cli/errors.js";
import { jsonLine, runCli } from "../storage/runCli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-cli-create-"));
  await mkdir(join(root, "album", "cd1"), { recursive: true });
  await writeFile(join(root, "album", "cd1", "01.bin"), randomBytes(70_000));
  await writeFile(join(root, "album", "cover.bin"), randomBytes(5_000));
  await writeFile(join(root, "single.bin"), randomBytes(100_000));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("swarmsup create", () => {
  it("writes the .torrent and prints exactly the contract's JSON", async () => {
    const out = join(root, "album.torrent");
    const run = await runCli(["create", join(root, "album"), "-o", out, "--json"]);
    expect(run.code).toBe(0);
    const summary = jsonLine(run);
    const meta = parseMetainfo(await readFile(out));
    expect(summary).toEqual({ infoHash: meta.infoHashHex, pieces: meta.pieceCount, pieceLength: 16_384, bytes: 75_000 });
    expect(meta.infoHashHex).toMatch(/^[0-9a-f]{40}$/);
    expect(meta.files.map((f) => f.path.join("/"))).toEqual(["album/cd1/01.bin", "album/cover.bin"]);
    expect((await readdir(root)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("carries trackers (one tier each), web seeds, private and the name", async () => {
    const out = join(root, "opts.torrent");
    const run = await runCli([
      "create",
      join(root, "single.bin"),
      "-o",
      out,
      "--announce",
      "http://127.0.0.1:6969/announce",
      "--announce",
      "udp://127.0.0.1:6969",
      "--web-seed",
      "http://127.0.0.1:8000/single.bin",
      "--private",
      "--name",
      "renamed.bin",
      "--piece-length",
      "32768",
      "--json",
    ]);
    expect(run.code).toBe(0);
    const meta = parseMetainfo(await readFile(out));
    expect(meta).toMatchObject({
      name: "renamed.bin",
      layout: "single",
      pieceLength: 32_768,
      pieceCount: 4,
      announce: "http://127.0.0.1:6969/announce",
      announceList: [["http://127.0.0.1:6969/announce"], ["udp://127.0.0.1:6969"]],
      urlList: ["http://127.0.0.1:8000/single.bin"],
      private: true,
    });
    expect(jsonLine(run)).toMatchObject({ infoHash: meta.infoHashHex, pieces: 4, pieceLength: 32_768, bytes: 100_000 });
  });

  it("prints a human summary without --json and no progress bar when stdout is not a terminal", async () => {
    const run = await runCli(["create", join(root, "single.bin"), "-o", join(root, "human.torrent")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^created .*human\.torrent: "single\.bin", .* 7 pieces of 16\.0 KiB, info-hash [0-9a-f]{40}\n$/);
    expect(run.stdout).not.toContain("hashing [");
  });

  it.each([
    [["--piece-length", "1000"], /between/],
    [["--piece-length", "49152"], /power of two/],
    [["--piece-length", "12abc"], /number of bytes/],
    [["--announce", "not a url"], /not a URL/],
    [["--announce", "ftp://127.0.0.1/"], /scheme/],
    [["--web-seed", "udp://127.0.0.1/"], /scheme/],
    [["--name", "a/b"], /--name/],
    [["--name", ".."], /--name/],
  ])("exits 2 on bad usage: %j", async (flags, message) => {
    const run = await runCli(["create", join(root, "single.bin"), "-o", join(root, "bad.torrent"), ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stdout).toBe("");
  });

  it("exits 2 without -o", async () => {
    const run = await runCli(["create", join(root, "single.bin")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/output/);
  });

  it("exits 1 with one line when the data is not there or not usable", async () => {
    const missing = await runCli(["create", join(root, "nope"), "-o", join(root, "x.torrent")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: does not exist/);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    await mkdir(join(root, "empty-dir"));
    const empty = await runCli(["create", join(root, "empty-dir"), "-o", join(root, "x.torrent"), "--json"]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no bytes/);
    expect(empty.stdout).toBe("");
  });

  it("exits 1 when the .torrent cannot be written, leaving no temporary file", async () => {
    const run = await runCli(["create", join(root, "single.bin"), "-o", join(root, "no-such-dir", "x.torrent")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot write/);
  });
});

describe("parseCreateArgs", () => {
  it("collects repeated flags in order and leaves defaults undefined", () => {
    expect(parseCreateArgs("data", { output: "t.torrent", announce: ["http://a/", "udp://b:1"], webSeed: [] })).toEqual({
      path: "data",
      output: "t.torrent",
      announce: ["http://a/", "udp://b:1"],
      webSeeds: [],
      pieceLength: undefined,
      private: false,
      name: undefined,
      json: false,
    });
  });

  it("throws usage errors (exit 2)", () => {
    const attempt = (): unknown => parseCreateArgs("data", { output: "t.torrent", pieceLength: "3" });
    expect(attempt).toThrow(CliError);
    try {
      attempt();
    } catch (err) {
      expect(err instanceof CliError && err.exitCode).toBe(2);
    }
  });
});
