import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HOT_WINDOW_MS, judgeFile, planStartup, type ResumeSource, type StartupPlan } from "../../src/storage/resume/plan.js";
import type { FileStamp, ResumeData } from "../../src/storage/resume/format.js";
import { layoutOf } from "./fixtures.js";

// Pieces of 16 bytes: f0 = bytes 0-39 (pieces 0,1,2), f1 = 40-63 (2,3), f2 empty,
// pad 64-71 (piece 4), f4 = 72-103 (4,5,6). Piece 2 spans f0 and f1; piece 4 a pad and f4.
const layout = layoutOf([{ length: 40 }, { length: 24 }, { length: 0 }, { length: 8, pad: true }, { length: 32 }], 16);
const IH = Buffer.alloc(20, 1);
const SAVED_AT = 1_700_000_000_000;
/** An mtime well before the save: not "hot". */
const OLD = BigInt(SAVED_AT - 60_000) * 1_000_000n;
const file = (size: number, mtimeNs = OLD): FileStamp => ({ kind: "file", size, mtimeNs });
const savedFiles: FileStamp[] = [file(40), file(24), file(0), { kind: "pad" }, file(32)];

function bits(pieceCount: number, pieces: readonly number[]): Buffer {
  const b = Buffer.alloc(Math.ceil(pieceCount / 8));
  for (const p of pieces) b[p >> 3] = (b[p >> 3] ?? 0) | (0x80 >> (p & 7));
  return b;
}

function resume(claimed: readonly number[], files = savedFiles, over: Partial<ResumeData> = {}): ResumeSource {
  return { kind: "decoded", data: { infoHash: IH, pieceCount: 7, have: bits(7, claimed), files, savedAtMs: SAVED_AT, ...over } };
}

const plan = (source: ResumeSource, now: readonly FileStamp[] = savedFiles): StartupPlan => planStartup({ layout, infoHash: IH, source, now });

function resumed(p: StartupPlan) {
  if (p.kind !== "resume") throw new Error(`expected a resume plan, got ${JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
  return p;
}

const ALL = [0, 1, 2, 3, 4, 5, 6];

describe("the start-up plan (trust rule)", () => {
  it("reads every piece when there is no resume file, or it cannot be used", () => {
    expect(plan({ kind: "none" })).toEqual({ kind: "fullCheck", why: { kind: "noResume" }, check: ALL });
    expect(plan({ kind: "rejected", reason: "badChecksum", detail: "torn" })).toMatchObject({ kind: "fullCheck", why: { kind: "rejected", reason: "badChecksum" }, check: ALL });
    expect(plan({ kind: "unreadable", detail: "EACCES" })).toMatchObject({ kind: "fullCheck", why: { kind: "unreadable" }, check: ALL });
    expect(plan(resume(ALL, savedFiles, { infoHash: Buffer.alloc(20, 2) }))).toMatchObject({ kind: "fullCheck", why: { kind: "otherTorrent" }, check: ALL });
    expect(plan(resume([], savedFiles, { pieceCount: 8, have: bits(8, []) }))).toMatchObject({ kind: "fullCheck", why: { kind: "otherShape" } });
    expect(plan(resume([], savedFiles.slice(1)))).toMatchObject({ kind: "fullCheck", why: { kind: "otherShape" } });
  });

  it("with every file as saved: trusts the claimed pieces and reads nothing", () => {
    const p = resumed(plan(resume([0, 2, 5])));
    expect(p.trusted).toEqual([0, 2, 5]);
    expect(p.check).toEqual([]);
    expect(p.skipped).toBe(4);
  });

  it("a file whose size changed: only its pieces are read, claimed or not", () => {
    const now = [...savedFiles];
    now[1] = file(20); // f1: pieces 2 and 3
    const p = resumed(plan(resume([0, 1, 2, 3, 5]), now));
    expect(p.files[1]).toEqual({ kind: "resized", saved: 24, now: 20 });
    expect(p.check).toEqual([2, 3]);
    expect(p.trusted).toEqual([0, 1, 5]);
    expect(p.skipped).toBe(2); // 4 and 6: f4 unchanged, unclaimed
  });

  it("a file written after the save (mtime differs): its claimed pieces are read again, its others read too", () => {
    const now = [...savedFiles];
    now[4] = file(32, OLD + 5_000_000n); // f4: pieces 4, 5, 6 (a crash after our later writes)
    const p = resumed(plan(resume([0, 4, 5]), now));
    expect(p.files[4]).toMatchObject({ kind: "touched" });
    expect(p.check).toEqual([4, 5, 6]);
    expect(p.trusted).toEqual([0]);
    expect(p.skipped).toBe(3); // 1, 2, 3
  });

  it("a file stamped just before the save (hot): claimed pieces trusted, the others read", () => {
    const hot = BigInt(SAVED_AT - 10) * 1_000_000n;
    const files = [...savedFiles];
    files[4] = file(32, hot);
    const p = resumed(plan(resume([5], files), files));
    expect(p.files[4]).toMatchObject({ kind: "hot" });
    expect(p.trusted).toEqual([5]);
    expect(p.check).toEqual([4, 6]);
  });

  it("a piece spanning two files is trusted only if both trust it", () => {
    const now = [...savedFiles];
    now[0] = file(40, OLD + 1n); // f0 touched; f1 unchanged; piece 2 spans both
    const p = resumed(plan(resume([2, 3]), now));
    expect(p.check).toContain(2);
    expect(p.trusted).toEqual([3]);
  });

  it("a file gone, or one absent at the save and there now, has all its pieces read", () => {
    const gone = [...savedFiles];
    gone[1] = { kind: "absent" };
    expect(resumed(plan(resume([2, 3]), gone)).check).toEqual([2, 3]);
    const before = [...savedFiles];
    before[0] = { kind: "absent" };
    expect(resumed(plan(resume([], before))).check).toEqual([0, 1, 2]);
  });

  it("judges by the metainfo: pads and empty files have no say; the hot window's edge", () => {
    expect(judgeFile({ length: 8, pad: true }, file(1), { kind: "absent" }, SAVED_AT)).toEqual({ kind: "noBytes" });
    expect(judgeFile({ length: 0, pad: false }, file(0), { kind: "absent" }, SAVED_AT)).toEqual({ kind: "noBytes" });
    const edge = BigInt(SAVED_AT - HOT_WINDOW_MS) * 1_000_000n;
    expect(judgeFile({ length: 1, pad: false }, file(1, edge), file(1, edge), SAVED_AT).kind).toBe("hot");
    expect(judgeFile({ length: 1, pad: false }, file(1, edge - 1n), file(1, edge - 1n), SAVED_AT).kind).toBe("unchanged");
    // An mtime after the save (clock skew) is hot, not trusted blindly.
    const later = BigInt(SAVED_AT + 1000) * 1_000_000n;
    expect(judgeFile({ length: 1, pad: false }, file(1, later), file(1, later), SAVED_AT).kind).toBe("hot");
  });

  it("property: the plan partitions the pieces, trusts only claimed pieces, and never trusts a piece of a changed file", () => {
    const stampNow = fc.oneof(
      fc.constant("same" as const),
      fc.constant("touched" as const),
      fc.constant("resized" as const),
      fc.constant("gone" as const),
    );
    fc.assert(
      fc.property(fc.subarray(ALL), fc.array(stampNow, { minLength: 5, maxLength: 5 }), (claimed, changes) => {
        const now = savedFiles.map((s, i): FileStamp => {
          if (s.kind !== "file") return s;
          switch (changes[i]) {
            case "touched":
              return file(s.size, s.mtimeNs + 1n);
            case "resized":
              return file(s.size + 1);
            case "gone":
              return { kind: "absent" };
            default:
              return s;
          }
        });
        const p = resumed(plan(resume(claimed), now));
        expect(p.trusted.length + p.check.length + p.skipped).toBe(7);
        expect(new Set([...p.trusted, ...p.check]).size).toBe(p.trusted.length + p.check.length);
        for (const t of p.trusted) expect(claimed).toContain(t);
        for (let f = 0; f < layout.files.length; f++) {
          if (changes[f] === "same" || (layout.files[f]?.length ?? 0) === 0 || layout.files[f]?.pad === true) continue;
          const first = Math.floor((layout.files[f]?.offset ?? 0) / 16);
          const last = Math.floor(((layout.files[f]?.offset ?? 0) + (layout.files[f]?.length ?? 1) - 1) / 16);
          for (let piece = first; piece <= last; piece++) expect(p.check).toContain(piece);
        }
      }),
    );
  });
});
