import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PayloadScanError, scanPayload } from "../../src/storage/scan.js";

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-scan-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory holding `files` (path -> content); directories end with "/". */
async function tree(files: Record<string, string>): Promise<string> {
  const top = join(root, `tree${counter++}`);
  await mkdir(top);
  for (const [path, content] of Object.entries(files)) {
    const full = join(top, path);
    if (path.endsWith("/")) {
      await mkdir(full, { recursive: true });
    } else {
      await mkdir(join(full, ".."), { recursive: true });
      await writeFile(full, content);
    }
  }
  return top;
}

const pathsOf = (scanned: Awaited<ReturnType<typeof scanPayload>>): string[] => scanned.files.map((f) => f.path.join("/"));

describe("scanPayload", () => {
  it("makes a single-file payload of a file, named after it", async () => {
    const top = await tree({ "movie.mkv": "12345" });
    const scanned = await scanPayload(join(top, "movie.mkv"));
    expect(scanned).toEqual({
      layout: "single",
      name: "movie.mkv",
      files: [{ path: [], absolutePath: join(top, "movie.mkv"), length: 5 }],
      length: 5,
    });
  });

  it("walks a directory depth first, each level sorted by bytes, hidden and empty files kept", async () => {
    const top = await tree({
      "b.txt": "b",
      "a.txt": "aa",
      "a/z": "z",
      "a/y/x": "x",
      "B": "B",
      ".hidden": "h",
      "empty": "",
      "nothing/": "",
      "é": "e",
      "z": "zz",
    });
    const scanned = await scanPayload(top);
    expect(scanned.layout).toBe("multi");
    // ".hidden" < "B" < "a" < "a.txt" < "b.txt" < "empty" < "z" < "é" (0xC3 after ASCII)
    expect(pathsOf(scanned)).toEqual([".hidden", "B", "a/y/x", "a/z", "a.txt", "b.txt", "empty", "z", "é"]);
    expect(scanned.length).toBe(1 + 1 + 1 + 1 + 2 + 1 + 0 + 2 + 1);
  });

  it("follows symlinks to files and directories", async () => {
    const top = await tree({ "real/f": "abc", "other/g": "12" });
    await symlink(join(top, "other"), join(top, "real", "linked-dir"));
    await symlink(join(top, "other", "g"), join(top, "real", "linked-file"));
    const scanned = await scanPayload(join(top, "real"));
    expect(pathsOf(scanned)).toEqual(["f", "linked-dir/g", "linked-file"]);
    expect(scanned.length).toBe(7);
  });

  it("refuses a symlink cycle", async () => {
    const top = await tree({ "d/f": "1" });
    await symlink(top, join(top, "d", "loop"));
    await expect(scanPayload(top)).rejects.toThrow(/cycle/);
  });

  it("refuses a dangling symlink instead of skipping it", async () => {
    const top = await tree({ "f": "1" });
    await symlink(join(top, "gone"), join(top, "dangling"));
    await expect(scanPayload(top)).rejects.toThrow(/dangling/);
  });

  it("refuses special files", async () => {
    const top = await tree({ "f": "1" });
    execFileSync("mkfifo", [join(top, "pipe")]);
    await expect(scanPayload(top)).rejects.toThrow(/not a regular file/);
  });

  it("refuses names that no torrent could carry", async () => {
    const bad = await tree({ "f": "1" });
    await writeFile(Buffer.from(join(bad, "latin1-\xe9"), "latin1"), "x");
    await expect(scanPayload(bad)).rejects.toThrow(/UTF-8/);
    const control = await tree({ "f": "1", "line\nbreak": "x" });
    await expect(scanPayload(control)).rejects.toThrow(/control character/);
  });

  it("refuses payloads without bytes and paths that do not exist", async () => {
    const empty = await tree({ "a/": "", "b": "" });
    await expect(scanPayload(empty)).rejects.toThrow(/no bytes/);
    await expect(scanPayload(join(empty, "b"))).rejects.toThrow(/empty/);
    await expect(scanPayload(join(empty, "nope"))).rejects.toBeInstanceOf(PayloadScanError);
  });
});
