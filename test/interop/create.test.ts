/**
 * create/verify against libtorrent 2.0 (python3-libtorrent), the reference: our torrents
 * load there with the same info-hash and piece hashes, its torrents (v1-only and its
 * default v1+v2 hybrid with pad files) verify here, and after damage both clients agree
 * on which pieces are good.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseMetainfo } from "../../src/protocol/metainfo.js";
import { describeInterop, libtorrentMissing, PYTHON } from "../helpers/interop.js";
import { flipByte } from "../storage/fixtures.js";
import { jsonLine, runCli } from "../storage/runCli.js";

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function python(script: string, args: readonly string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [fixture(script), ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${script} ${args.join(" ")}: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

interface LtInspect {
  infoHash: string;
  name: string;
  pieces: number;
  pieceLength: number;
  pieceHashes: string[];
  files: { path: string; size: number }[];
  trackers: { url: string; tier: number }[];
  webSeeds: string[];
  private: boolean;
}
interface LtCreate {
  infoHash: string;
  pieces: number;
  pieceLength: number;
  padFiles: number;
}
interface LtCheck {
  pieces: number;
  have: number[];
}

let root: string;
/** Original payloads, kept pristine: `<root>/orig/<name>`. */
let single: string;
let multi: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-interop-create-"));
  single = join(root, "orig", "single.bin");
  multi = join(root, "orig", "multi");
  await mkdir(join(multi, "sub", "deeper"), { recursive: true });
  await writeFile(single, randomBytes(300_001)); // not a multiple of any piece length
  await writeFile(join(multi, "a.bin"), randomBytes(100_000));
  await writeFile(join(multi, "empty"), "");
  await writeFile(join(multi, "sub", "b.bin"), randomBytes(70_000));
  await writeFile(join(multi, "sub", "deeper", "c.bin"), randomBytes(33_333));
  await writeFile(join(multi, "z.bin"), randomBytes(1));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh copy of a payload under `<root>/<label>/`, the place libtorrent's save_path points at. */
async function copyOf(payload: string, label: string): Promise<{ savePath: string; dataPath: string }> {
  const savePath = join(root, label);
  const dataPath = join(savePath, payload === single ? "single.bin" : "multi");
  await mkdir(savePath, { recursive: true });
  await cp(payload, dataPath, { recursive: true });
  return { savePath, dataPath };
}

describeInterop("create and verify against libtorrent", libtorrentMissing, () => {
  it.each([
    ["single", () => single, "16384"],
    ["multi", () => multi, "32768"],
  ])("a %s-file torrent from `swarmsup create` loads in libtorrent with our info-hash and piece hashes", async (label, payload, pieceLength) => {
    const torrent = join(root, `ours-${label}.torrent`);
    const run = await runCli([
      "create",
      payload(),
      "-o",
      torrent,
      "--piece-length",
      pieceLength,
      "--announce",
      "http://127.0.0.1:6969/announce",
      "--announce",
      "udp://127.0.0.1:6970",
      "--web-seed",
      "http://127.0.0.1:8080/",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonLine(run) as { infoHash: string; pieces: number };
    const ours = parseMetainfo(await readFile(torrent));
    const theirs = (await python("lt_inspect.py", [torrent])) as LtInspect;
    expect(theirs.infoHash).toBe(summary.infoHash);
    expect(theirs.pieces).toBe(summary.pieces);
    expect(theirs.pieceLength).toBe(Number(pieceLength));
    expect(theirs.pieceHashes.join("")).toBe(ours.pieceHashes.toString("hex"));
    expect(theirs.files.map((f) => [f.path, f.size])).toEqual(ours.files.map((f) => [f.path.join("/"), f.length]));
    expect(theirs.trackers).toEqual([
      { url: "http://127.0.0.1:6969/announce", tier: 0 },
      { url: "udp://127.0.0.1:6970", tier: 1 },
    ]);
    expect(theirs.webSeeds).toEqual(["http://127.0.0.1:8080/"]);
    // And libtorrent, checking the data against our torrent, has every piece.
    const checked = (await python("lt_check.py", [torrent, join(root, "orig")])) as LtCheck;
    expect(checked.have).toHaveLength(summary.pieces);
  });

  it.each([
    ["v1", "single"],
    ["v1", "multi"],
    ["hybrid", "single"],
    ["hybrid", "multi"],
  ] as const)("a %s %s-file torrent that libtorrent creates verifies all-valid in swarmsup", async (mode, layout) => {
    const payload = layout === "single" ? single : multi;
    const torrent = join(root, `lt-${mode}-${layout}.torrent`);
    const created = (await python("lt_create.py", [payload, torrent, mode, "32768"])) as LtCreate;
    if (mode === "hybrid" && layout === "multi") expect(created.padFiles).toBeGreaterThan(0); // pad files never on disk
    const run = await runCli(["verify", torrent, payload, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLine(run)).toEqual({ pieces: created.pieces, valid: created.pieces, invalid: [], missing: [] });
  });

  it.each(["v1", "hybrid"] as const)("after damage, swarmsup verify agrees with libtorrent's check (%s multi-file)", async (mode) => {
    const torrent = join(root, `damage-${mode}.torrent`);
    const created = (await python("lt_create.py", [multi, torrent, mode, "16384"])) as LtCreate;
    const { savePath, dataPath } = await copyOf(multi, `damaged-${mode}`);
    await flipByte(join(dataPath, "a.bin"), 0);
    await flipByte(join(dataPath, "a.bin"), 50_000);
    await flipByte(join(dataPath, "sub", "deeper", "c.bin"), 33_332);
    await truncate(join(dataPath, "sub", "b.bin"), 40_000);
    await rm(join(dataPath, "z.bin"));

    const run = await runCli(["verify", torrent, dataPath, "--json"]);
    expect(run.code).toBe(1);
    const ours = jsonLine(run) as { pieces: number; valid: number; invalid: number[]; missing: number[] };
    const theirs = (await python("lt_check.py", [torrent, savePath])) as LtCheck;
    const all = Array.from({ length: created.pieces }, (_, i) => i);
    const bad = [...ours.invalid, ...ours.missing].sort((a, b) => a - b);
    expect(ours.pieces).toBe(theirs.pieces);
    expect(bad).toEqual(all.filter((i) => !theirs.have.includes(i)));
    expect(ours.valid).toBe(theirs.have.length);
    expect(ours.invalid.length).toBeGreaterThanOrEqual(2); // the flips in a.bin land in two pieces
    expect(ours.missing.length).toBeGreaterThanOrEqual(1); // the truncation and the deleted file
  });
});
