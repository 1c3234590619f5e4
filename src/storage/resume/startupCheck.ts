/**
 * A torrent's start-up check: plan from the resume file (plan.ts), read and hash only the
 * pieces the plan says to, and return the pieces now known verified and on disk (trusted
 * ones plus those whose hash matched), with the plan as evidence.
 */
import type { Metainfo } from "../../protocol/types.js";
import type { PieceHasher } from "../hashPool.js";
import { pieceSize, piecesOfFile } from "../layout.js";
import { planFromDisk } from "../resume.js";
import { verifyPayload, type VerifyResult } from "../verify.js";
import type { StartupPlan } from "./plan.js";

export interface StartupCheckArgs {
  readonly meta: Metainfo;
  readonly paths: readonly string[];
  readonly resumeFile: string;
  readonly hasher: PieceHasher;
  /** Bytes settled so far (trusted pieces count at once) out of the payload. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * Files that did not exist when the torrent started (we created them, sparse): their
   * pieces cannot be on disk, so they are not read. A fresh 1 GiB download otherwise reads
   * and hashes 1 GiB of zeros first (~1 CPU-s, measured by bench:pair's profile).
   */
  readonly absentAtStart?: ReadonlySet<number>;
}

export interface StartupCheck {
  readonly plan: StartupPlan;
  /** Ascending: the pieces to mark have. */
  readonly have: number[];
  /** The pieces read and hashed (the plan's `check`). */
  readonly verify: VerifyResult;
}

const NOTHING_READ: VerifyResult = { pieces: 0, valid: 0, invalid: [], missing: [] };

export async function startupCheck(args: StartupCheckArgs): Promise<StartupCheck> {
  const { meta, paths, hasher, onProgress } = args;
  const plan = await planFromDisk(meta, paths, args.resumeFile);
  const trusted = plan.kind === "resume" ? plan.trusted : [];
  const unreadable = piecesOfFiles(meta, args.absentAtStart);
  const toRead = unreadable.size === 0 ? plan.check : plan.check.filter((p) => !unreadable.has(p));
  let settled = 0;
  for (const p of trusted) settled += pieceSize(meta, p);
  onProgress?.(settled);
  const verify =
    toRead.length === 0
      ? NOTHING_READ
      : await verifyPayload({ meta, paths, hasher, pieces: toRead, onProgress: (bytes) => onProgress?.(settled + bytes) });
  const bad = new Set([...verify.invalid, ...verify.missing]);
  const have = [...trusted, ...toRead.filter((p) => !bad.has(p))].sort((a, b) => a - b);
  return { plan, have, verify };
}

/** Every piece that touches one of `files` (a piece spanning into a missing file is missing too). */
function piecesOfFiles(meta: Metainfo, files: ReadonlySet<number> | undefined): Set<number> {
  const out = new Set<number>();
  for (const f of files ?? []) {
    const range = piecesOfFile(meta, f);
    if (range === undefined) continue;
    for (let p = range.first; p <= range.last; p++) out.add(p);
  }
  return out;
}

/** One line's worth of the plan, for logs and stats (the piece lists can be long). */
export interface StartupSummary {
  readonly source: "resume" | "fullCheck";
  /** Why there was no usable resume data (fullCheck only). */
  readonly why: string | undefined;
  readonly trusted: number;
  readonly read: number;
  readonly skipped: number;
  readonly valid: number;
  /** File verdicts other than "unchanged"/"noBytes", by kind. */
  readonly files: Readonly<Record<string, number>>;
}

export function summarize(check: StartupCheck): StartupSummary {
  const { plan, verify } = check;
  switch (plan.kind) {
    case "fullCheck":
      return { source: "fullCheck", why: plan.why.kind, trusted: 0, read: verify.pieces, skipped: plan.check.length - verify.pieces, valid: verify.valid, files: {} };
    case "resume": {
      const files: Record<string, number> = {};
      for (const v of plan.files) if (v.kind !== "unchanged" && v.kind !== "noBytes") files[v.kind] = (files[v.kind] ?? 0) + 1;
      return { source: "resume", why: undefined, trusted: plan.trusted.length, read: verify.pieces, skipped: plan.skipped + plan.check.length - verify.pieces, valid: verify.valid, files };
    }
    default: {
      const never: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(never)}`);
    }
  }
}
