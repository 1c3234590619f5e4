/**
 * The trust rule: given what the resume file says (if anything) and what the files look
 * like now, which pieces are taken as verified without reading, which are read and hashed,
 * and which are taken as missing without reading. Pure: the decision and its evidence.
 *
 * The rule, per file (pad files and zero-length files hold no bytes and never vote):
 * - same size and same mtime as at the save ("unchanged"): the pieces the resume claims are
 *   trusted; the others are missing, unread (nothing wrote to the file after the save);
 * - same size and mtime, but that mtime was within HOT_WINDOW_MS of the save ("hot"): the
 *   claimed pieces are trusted, the others are read. The kernel stamps mtime from a coarse
 *   clock (a scheduler tick; FAT keeps 2 s), so a write landing just after the save can
 *   leave the mtime equal: a piece written then is on disk but not claimed;
 * - different mtime ("touched"), different size ("resized"), gone, or there now and absent
 *   at the save ("appeared"): every piece of the file is read, claimed or not. Something
 *   wrote to it after the save: our own later writes (a crash after the save) or another
 *   program. Reading a claimed piece again is cheap next to downloading it, and nothing
 *   another program changed is trusted.
 * A piece spanning several files is trusted only if every one of its files trusts it, and
 * taken as missing unread only if every one of them says so. A piece of padding alone is
 * read (that reads nothing). No usable resume data (none, torn, another torrent, another
 * shape) means every piece is read: today's full check.
 */
import type { PayloadLayout } from "../layout.js";
import { piecesOfFile } from "../layout.js";
import type { DecodedResume, FileStamp, ResumeData, ResumeRejection } from "./format.js";

/** A write within this long before the save may have left the file's mtime unchanged. */
export const HOT_WINDOW_MS = 2_000;

/** What reading the resume file gave. */
export type ResumeSource =
  | { readonly kind: "none" }
  | { readonly kind: "unreadable"; readonly detail: string }
  | DecodedResume;

export type FileVerdict =
  | { readonly kind: "unchanged" }
  | { readonly kind: "hot"; readonly mtimeNs: bigint; readonly savedAtMs: number }
  | { readonly kind: "touched"; readonly savedNs: bigint; readonly nowNs: bigint }
  | { readonly kind: "resized"; readonly saved: number; readonly now: number }
  | { readonly kind: "gone" }
  | { readonly kind: "appeared" }
  /** Holds no bytes (pad or zero-length): no say over any piece. */
  | { readonly kind: "noBytes" };

export type FullCheckReason =
  | { readonly kind: "noResume" }
  | { readonly kind: "unreadable"; readonly detail: string }
  | { readonly kind: "rejected"; readonly reason: ResumeRejection; readonly detail: string }
  | { readonly kind: "otherTorrent"; readonly infoHashHex: string }
  | { readonly kind: "otherShape"; readonly detail: string };

export type StartupPlan =
  | { readonly kind: "fullCheck"; readonly why: FullCheckReason; readonly check: number[] }
  | {
      readonly kind: "resume";
      /** Claimed and taken without reading. */
      readonly trusted: number[];
      /** Read and hashed (ascending). */
      readonly check: number[];
      /** Taken as missing without reading. */
      readonly skipped: number;
      readonly files: readonly FileVerdict[];
    };

export interface PlanInput {
  readonly layout: PayloadLayout;
  readonly infoHash: Buffer;
  readonly source: ResumeSource;
  /** What each of layout.files is now, same indices. */
  readonly now: readonly FileStamp[];
}

type ClaimedRule = "trust" | "read";
type RestRule = "skip" | "read";

function rulesOf(verdict: FileVerdict): { readonly claimed: ClaimedRule; readonly rest: RestRule } | undefined {
  switch (verdict.kind) {
    case "unchanged":
      return { claimed: "trust", rest: "skip" };
    case "hot":
      return { claimed: "trust", rest: "read" };
    case "touched":
    case "resized":
    case "gone":
    case "appeared":
      return { claimed: "read", rest: "read" };
    case "noBytes":
      return undefined;
    default: {
      const never: never = verdict;
      throw new Error(`unknown file verdict ${JSON.stringify(never)}`);
    }
  }
}

/** `file` is the metainfo's entry: it, not the stamps, says whether the file holds bytes. */
export function judgeFile(file: { readonly length: number; readonly pad: boolean }, saved: FileStamp, now: FileStamp, savedAtMs: number): FileVerdict {
  if (file.length === 0 || file.pad) return { kind: "noBytes" };
  if (now.kind !== "file") return { kind: "gone" };
  if (saved.kind !== "file") return { kind: "appeared" };
  if (saved.size !== now.size) return { kind: "resized", saved: saved.size, now: now.size };
  if (saved.mtimeNs !== now.mtimeNs) return { kind: "touched", savedNs: saved.mtimeNs, nowNs: now.mtimeNs };
  if (saved.mtimeNs >= BigInt(savedAtMs - HOT_WINDOW_MS) * 1_000_000n) return { kind: "hot", mtimeNs: saved.mtimeNs, savedAtMs };
  return { kind: "unchanged" };
}

export function planStartup(input: PlanInput): StartupPlan {
  const { layout, source } = input;
  const all = (): number[] => Array.from({ length: layout.pieceCount }, (_, i) => i);
  switch (source.kind) {
    case "none":
      return { kind: "fullCheck", why: { kind: "noResume" }, check: all() };
    case "unreadable":
      return { kind: "fullCheck", why: { kind: "unreadable", detail: source.detail }, check: all() };
    case "rejected":
      return { kind: "fullCheck", why: { kind: "rejected", reason: source.reason, detail: source.detail }, check: all() };
    case "decoded": {
      const mismatch = mismatchOf(input, source.data);
      if (mismatch !== undefined) return { kind: "fullCheck", why: mismatch, check: all() };
      return planFromResume(input, source.data);
    }
    default: {
      const never: never = source;
      throw new Error(`unknown resume source ${JSON.stringify(never)}`);
    }
  }
}

function mismatchOf(input: PlanInput, data: ResumeData): FullCheckReason | undefined {
  if (!data.infoHash.equals(input.infoHash)) return { kind: "otherTorrent", infoHashHex: data.infoHash.toString("hex") };
  const { layout, now } = input;
  if (data.pieceCount !== layout.pieceCount) return { kind: "otherShape", detail: `${data.pieceCount} pieces saved, the torrent has ${layout.pieceCount}` };
  if (data.files.length !== layout.files.length || now.length !== layout.files.length) {
    return { kind: "otherShape", detail: `${data.files.length} files saved, the torrent has ${layout.files.length}` };
  }
  return undefined;
}

const claimedIn = (have: Buffer, piece: number): boolean => ((have[piece >> 3] ?? 0) & (0x80 >> (piece & 7))) !== 0;

function planFromResume(input: PlanInput, data: ResumeData): StartupPlan {
  const { layout, now } = input;
  // Per piece, what its files demand: bit 1 = a file says read the claimed piece,
  // bit 2 = a file says read it if unclaimed, bit 4 = some file holds bytes of it.
  const demand = new Uint8Array(layout.pieceCount);
  const files = layout.files.map((file, i): FileVerdict => {
    const verdict = judgeFile(file, data.files[i] ?? { kind: "absent" }, now[i] ?? { kind: "absent" }, data.savedAtMs);
    const rules = rulesOf(verdict);
    const range = piecesOfFile(layout, i);
    if (rules === undefined || range === undefined) return verdict;
    const bits = 4 | (rules.claimed === "read" ? 1 : 0) | (rules.rest === "read" ? 2 : 0);
    for (let p = range.first; p <= range.last; p++) demand[p] = (demand[p] ?? 0) | bits;
    return verdict;
  });
  const trusted: number[] = [];
  const check: number[] = [];
  let skipped = 0;
  for (let p = 0; p < layout.pieceCount; p++) {
    const d = demand[p] ?? 0;
    if (claimedIn(data.have, p)) {
      if ((d & 1) === 0) trusted.push(p);
      else check.push(p);
    } else if ((d & 4) !== 0 && (d & 2) === 0) skipped++;
    else check.push(p);
  }
  return { kind: "resume", trusted, check, skipped, files };
}
