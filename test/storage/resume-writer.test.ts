import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, Reason, Runtime, advance, type Pid } from "../../src/runtime/index.js";
import { resolveDataFiles } from "../../src/storage/dataPath.js";
import { decodeResume, type ResumeData } from "../../src/storage/resume/format.js";
import { resumeFileOf } from "../../src/storage/resume.js";
import { TorrentState } from "../../actors/torrentState.js";
import { DEFAULT_RESUME_INTERVAL_MS, resumeWriter, startResumeWriter } from "../../actors/resumeWriter.js";
import { layoutOf, metainfoOf, pieceHashesOf } from "./fixtures.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-resume-writer-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
const WALL = 1_800_000_000_000;

async function setup() {
  const dir = join(root, `t${counter++}`);
  const layout = layoutOf([{ length: 5000 }, { length: 3000 }], 1024);
  const payload = randomBytes(layout.length);
  const meta = metainfoOf(layout, pieceHashesOf(payload, 1024));
  const paths = resolveDataFiles(meta, { kind: "downloadDir", dir });
  for (const path of paths) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, Buffer.alloc(0));
  }
  const clock = new ManualClock();
  const rt = new Runtime({ clock });
  const state = new TorrentState(meta, paths, 0);
  const pid = (await startResumeWriter({ state, wallClock: () => WALL }, rt)) as Pid;
  const file = resumeFileOf(meta, paths);
  const onDisk = async (): Promise<ResumeData> => {
    const out = decodeResume(await readFile(file));
    if (out.kind !== "decoded") throw new Error(`resume file ${out.reason}`);
    return out.data;
  };
  const claimed = async (): Promise<number[]> => {
    const { have } = await onDisk();
    return Array.from({ length: meta.pieceCount }, (_, i) => i).filter((i) => ((have[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
  };
  return { rt, clock, state, pid, file, onDisk, claimed };
}

describe("resume_writer", () => {
  it("saves nothing before the start-up check established the have-set", async () => {
    const t = await setup();
    t.state.have.set(0); // not yet trusted: checked is false
    await advance(t.clock, 3 * DEFAULT_RESUME_INTERVAL_MS, t.rt.scheduler);
    expect(await resumeWriter.flush(t.rt, t.pid)).toMatchObject({ started: 0, saves: 0 });
    await expect(readFile(t.file)).rejects.toMatchObject({ code: "ENOENT" });
    await t.rt.stop(t.pid, Reason.shutdown());
    await expect(readFile(t.file)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("on its interval, saves what changed, and only when something did", async () => {
    const t = await setup();
    t.state.checked = true;
    t.state.have.set(1);
    t.state.have.set(6);
    await advance(t.clock, DEFAULT_RESUME_INTERVAL_MS - 1, t.rt.scheduler);
    expect((await resumeWriter.status(t.rt, t.pid)).started).toBe(0);
    await advance(t.clock, 1, t.rt.scheduler);
    expect((await resumeWriter.status(t.rt, t.pid)).started).toBe(1); // the timer's save
    expect(await resumeWriter.flush(t.rt, t.pid)).toMatchObject({ started: 1, saves: 1, claimed: 2 }); // waited for it, nothing more to save
    expect(await t.claimed()).toEqual([1, 6]);
    const saved = await t.onDisk();
    expect(saved.savedAtMs).toBe(WALL);
    expect(saved.files.map((f) => f.kind)).toEqual(["file", "file"]);

    await advance(t.clock, 3 * DEFAULT_RESUME_INTERVAL_MS, t.rt.scheduler);
    expect((await resumeWriter.status(t.rt, t.pid)).started).toBe(1); // unchanged: no save

    t.state.have.set(3);
    await advance(t.clock, DEFAULT_RESUME_INTERVAL_MS, t.rt.scheduler);
    expect(await resumeWriter.flush(t.rt, t.pid)).toMatchObject({ started: 2, saves: 2, claimed: 3 });
    expect(await t.claimed()).toEqual([1, 3, 6]);
    await t.rt.stop(t.pid, Reason.shutdown());
  });

  it("saves once more when stopped, after a save still in flight", async () => {
    const t = await setup();
    t.state.checked = true;
    t.state.have.set(0);
    await advance(t.clock, DEFAULT_RESUME_INTERVAL_MS, t.rt.scheduler); // a save starts
    t.state.have.set(7); // and a piece lands after its snapshot
    await t.rt.stop(t.pid, Reason.shutdown());
    expect(await t.claimed()).toEqual([0, 7]);
  });

  it("a save that fails is reported and the writer carries on", async () => {
    const t = await setup();
    t.state.checked = true;
    t.state.have.set(2);
    // A plain file where the resume directory should be: mkdir fails, for root too.
    await writeFile(dirname(t.file), "in the way");
    expect(await resumeWriter.flush(t.rt, t.pid)).toMatchObject({ saves: 0, failures: 1 });
    expect(t.rt.isAlive(t.pid)).toBe(true);
    await rm(dirname(t.file));
    expect(await resumeWriter.flush(t.rt, t.pid)).toMatchObject({ saves: 1, failures: 1 });
    expect(await t.claimed()).toEqual([2]);
    await t.rt.stop(t.pid, Reason.shutdown());
  });
});
