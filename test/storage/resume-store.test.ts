import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Metainfo } from "../../src/protocol/types.js";
import { resolveDataFiles } from "../../src/storage/dataPath.js";
import { createInlineHasher } from "../../src/storage/hashPool.js";
import { planFromDisk, readResume, resumeFileOf, saveResume } from "../../src/storage/resume.js";
import { commitTemp, tempPathOf, writeDurableTemp, writeFileAtomic } from "../../src/storage/resume/atomicWrite.js";
import { startupCheck, summarize } from "../../src/storage/resume/startupCheck.js";
import { flipByte, layoutOf, metainfoOf, pieceHashesOf, type FileSpec } from "./fixtures.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-resume-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PIECE = 1024;
/** f0: pieces 0-3, f1: pieces 4-5 (2048 bytes), f2: pieces 6-7 (1500 bytes). */
const SPECS: FileSpec[] = [{ length: 4096 }, { length: 2048 }, { length: 1500 }];
const A_MINUTE_AGO = (): Date => new Date(Date.now() - 60_000);
let counter = 0;

interface Torrent {
  readonly dir: string;
  readonly meta: Metainfo;
  readonly paths: string[];
  readonly payload: Buffer;
  readonly file: string;
}

/** A download dir holding the whole payload, its files' mtimes a minute back (not "hot"). */
async function complete(specs = SPECS): Promise<Torrent> {
  const dir = join(root, `t${counter++}`);
  const layout = layoutOf(specs, PIECE);
  const payload = randomBytes(layout.length);
  const meta = metainfoOf(layout, pieceHashesOf(payload, PIECE));
  const paths = resolveDataFiles(meta, { kind: "downloadDir", dir });
  for (const [i, f] of layout.files.entries()) {
    const path = paths[i] as string;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, payload.subarray(f.offset, f.offset + f.length));
    await utimes(path, A_MINUTE_AGO(), A_MINUTE_AGO());
  }
  return { dir, meta, paths, payload, file: resumeFileOf(meta, paths) };
}

function bitsOf(pieceCount: number, pieces: readonly number[]): Buffer {
  const b = Buffer.alloc(Math.ceil(pieceCount / 8));
  for (const p of pieces) b[p >> 3] = (b[p >> 3] ?? 0) | (0x80 >> (p & 7));
  return b;
}

const save = (t: Torrent, claimed: readonly number[]) =>
  saveResume({ file: t.file, meta: t.meta, paths: t.paths, have: bitsOf(t.meta.pieceCount, claimed), savedAtMs: Date.now() });

const check = (t: Torrent) => startupCheck({ meta: t.meta, paths: t.paths, resumeFile: t.file, hasher: createInlineHasher() });

const ALL = [0, 1, 2, 3, 4, 5, 6, 7];

describe("resume data on disk", () => {
  it("lives in <root>/.swarmsup/<infohash>.resume for a download dir and for a payload path alike", () => {
    const layout = layoutOf(SPECS, PIECE);
    const meta = metainfoOf(layout, Buffer.alloc(20 * layout.pieceCount));
    const expected = join("/data", ".swarmsup", `${meta.infoHashHex}.resume`);
    expect(resumeFileOf(meta, resolveDataFiles(meta, { kind: "downloadDir", dir: "/data" }))).toBe(expected);
    expect(resumeFileOf(meta, resolveDataFiles(meta, { kind: "dataPath", path: "/data/renamed-top" }))).toBe(expected);
    const single = metainfoOf(layoutOf([{ length: 10 }], PIECE), Buffer.alloc(20));
    const one = { ...single, layout: "single" as const, files: [{ ...single.files[0]!, path: ["x.bin"] }] };
    expect(resumeFileOf(one, resolveDataFiles(one, { kind: "dataPath", path: "/data/other-name.bin" }))).toBe(join("/data", ".swarmsup", `${one.infoHashHex}.resume`));
  });

  it("round trip: a save then a start trusts exactly the claimed pieces and reads nothing", async () => {
    const t = await complete();
    await save(t, [0, 1, 4, 7]);
    const result = await check(t);
    expect(summarize(result)).toMatchObject({ source: "resume", trusted: 4, read: 0, skipped: 4 });
    expect(result.have).toEqual([0, 1, 4, 7]);
  });

  it("a torn resume file (cut short, or a byte flipped) is ignored and every piece is read", async () => {
    const t = await complete();
    await save(t, ALL);
    const size = (await stat(t.file)).size;
    await truncate(t.file, size - 7);
    let result = await check(t);
    expect(result.plan).toMatchObject({ kind: "fullCheck", why: { kind: "rejected", reason: "badChecksum" } });
    expect(result.verify.pieces).toBe(8);
    expect(result.have).toEqual(ALL);

    await save(t, ALL);
    await flipByte(t.file, 40);
    result = await check(t);
    expect(result.plan).toMatchObject({ kind: "fullCheck", why: { kind: "rejected" } });
    expect(result.verify.pieces).toBe(8);

    await writeFile(t.file, Buffer.alloc(100_000)); // longer than this torrent's resume file: not read
    expect(await readResume(t.file, t.meta)).toMatchObject({ kind: "rejected", reason: "badLength" });
  });

  it("a file whose size changed: only its pieces are read again", async () => {
    const t = await complete();
    await save(t, ALL);
    await truncate(t.paths[1] as string, 1000); // f1: pieces 4 and 5
    const result = await check(t);
    expect(summarize(result)).toMatchObject({ source: "resume", trusted: 6, read: 2, files: { resized: 1 } });
    expect(result.verify).toEqual({ pieces: 2, valid: 0, invalid: [], missing: [4, 5] });
    expect(result.have).toEqual([0, 1, 2, 3, 6, 7]);
  });

  it("mtime rule: a file written after the save is read again: a claimed piece damaged since is caught, a piece written since is found", async () => {
    const t = await complete();
    await save(t, [0, 1, 4]); // f0 partly claimed; piece 2 is on disk but was not claimed
    await flipByte(t.paths[0] as string, 10); // another program damages claimed piece 0
    const result = await check(t);
    expect(result.plan).toMatchObject({ kind: "resume", trusted: [4], check: [0, 1, 2, 3] });
    expect(result.verify.invalid).toEqual([0]);
    expect(result.have).toEqual([1, 2, 3, 4]); // 2 and 3 were on disk: not to be downloaded again
  });

  it("states the limit of an mtime rule: a change that puts the old mtime back is not noticed", async () => {
    const t = await complete();
    await save(t, ALL);
    const before = await stat(t.paths[2] as string);
    await flipByte(t.paths[2] as string, 0);
    await utimes(t.paths[2] as string, before.atime, before.mtime);
    expect((await check(t)).plan).toMatchObject({ kind: "resume", trusted: ALL });
  });

  it("a resume file for another torrent at that path is ignored", async () => {
    const t = await complete();
    const other = await complete();
    await save(other, ALL);
    await mkdir(dirname(t.file), { recursive: true });
    await writeFile(t.file, await readFile(other.file));
    expect((await check(t)).plan).toMatchObject({ kind: "fullCheck", why: { kind: "otherTorrent", infoHashHex: other.meta.infoHashHex } });
  });

  it("no resume file: every piece is read, as before", async () => {
    const t = await complete();
    expect(await readResume(t.file, t.meta)).toEqual({ kind: "none" });
    const plan = await planFromDisk(t.meta, t.paths, t.file);
    expect(plan).toEqual({ kind: "fullCheck", why: { kind: "noResume" }, check: ALL });
  });
});

describe("atomic replace", () => {
  it("a crash between writing the temp and the rename leaves the old file whole; the next save replaces it", async () => {
    const dir = join(root, `atomic${counter++}`);
    const target = join(dir, "x.resume");
    await writeFileAtomic(target, Buffer.from("old content"));
    // The new content is durable under the temp name, and then the process dies: no rename.
    const temp = await writeDurableTemp(target, Buffer.from("new content, never committed"));
    expect(temp).toBe(tempPathOf(target));
    expect(await readFile(target, "utf8")).toBe("old content");
    // A crash in the middle of writing the temp: the target is untouched too.
    await writeFile(temp, Buffer.from("torn ne"));
    expect(await readFile(target, "utf8")).toBe("old content");
    // The next save overwrites the leftover temp and commits.
    await writeFileAtomic(target, Buffer.from("newer"));
    expect(await readFile(target, "utf8")).toBe("newer");
    expect(await readdir(dir)).toEqual(["x.resume"]);
  });

  it("commit is a rename: before it the target is old, after it new, never a mix", async () => {
    const dir = join(root, `atomic${counter++}`);
    const target = join(dir, "y.resume");
    await writeFileAtomic(target, Buffer.alloc(4096, 1));
    const temp = await writeDurableTemp(target, Buffer.alloc(4096, 2));
    expect(await readFile(target)).toEqual(Buffer.alloc(4096, 1));
    await commitTemp(temp, target);
    expect(await readFile(target)).toEqual(Buffer.alloc(4096, 2));
    expect(await readdir(dir)).toEqual(["y.resume"]);
  });
});
