/**
 * Resume data on disk: one file per torrent at `<root>/.swarmsup/<infohash>.resume`, where
 * <root> is the directory holding the payload (`get -o DIR`: DIR; `seed <path>`: the
 * directory <path> is in), so it sits beside the payload, never inside it.
 *
 * What a save may claim (invariant 5): only pieces whose SHA-1 matched and whose writes
 * returned (TorrentState.have, see pieceMgr.ts). A returned pwrite is in the kernel's page
 * cache, which outlives the process: after kill -9 the bytes are there. We deliberately do
 * NOT fsync the data files before a save, so a machine crash (power loss, kernel panic)
 * may lose data that a saved resume file claims; the file's own write is durable (fsync of
 * the file and of its directory, see atomicWrite.ts). The mtime check narrows that gap (a
 * file whose metadata update was lost reads as "touched" and is re-read) but does not
 * close it: making it machine-crash safe means fdatasync of every file written since the
 * last save, before writing the resume file.
 *
 * A save takes the claimed set first and stats the files after it, so each recorded mtime
 * is at least as new as every write the claimed set covers (see plan.ts for the rule that
 * reads them back).
 */
import { open, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FileEntry, Metainfo } from "../protocol/types.js";
import { decodeResume, encodeResume, resumeByteLength, type FileStamp } from "./resume/format.js";
import { planStartup, type ResumeSource, type StartupPlan } from "./resume/plan.js";
import { writeFileAtomic } from "./resume/atomicWrite.js";

export const RESUME_DIR = ".swarmsup";

type ResumeLayout = Pick<Metainfo, "infoHash" | "infoHashHex" | "pieceLength" | "pieceCount" | "length" | "files">;

/**
 * Where a torrent's resume file lives, from its resolved file paths: every path is
 * <root>/<file.path...> (downloadDir) or has as many components under the payload's
 * parent directory (dataPath), so stripping file.path's length gives the root either way.
 */
export function resumeFileOf(meta: Pick<Metainfo, "infoHashHex" | "files">, paths: readonly string[]): string {
  const first = meta.files[0];
  const path = paths[0];
  if (first === undefined || path === undefined) throw new RangeError("a torrent without files has no resume file");
  let root = path;
  for (let i = 0; i < first.path.length; i++) root = dirname(root);
  return join(root, RESUME_DIR, `${meta.infoHashHex}.resume`);
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** What each file is now. A file we cannot stat (gone, a directory, no permission) is "absent". */
export async function statFiles(files: readonly FileEntry[], paths: readonly string[]): Promise<FileStamp[]> {
  return Promise.all(
    files.map(async (file, i): Promise<FileStamp> => {
      if (file.pad) return { kind: "pad" };
      const path = paths[i];
      if (path === undefined) throw new RangeError(`no path for file ${i}`);
      try {
        const st = await stat(path, { bigint: true });
        return st.isFile() ? { kind: "file", size: Number(st.size), mtimeNs: st.mtimeNs } : { kind: "absent" };
      } catch {
        return { kind: "absent" };
      }
    }),
  );
}

/** Reads and decodes the resume file; never throws (a file that cannot be used says why). */
export async function readResume(file: string, meta: Pick<Metainfo, "pieceCount" | "files">): Promise<ResumeSource> {
  // Bounded: anything longer than this torrent's resume file is not one, and is not read.
  const limit = resumeByteLength(meta.pieceCount, meta.files.length);
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    return isMissing(error) ? { kind: "none" } : { kind: "unreadable", detail: String(error) };
  }
  try {
    const size = (await handle.stat()).size;
    if (size > limit) return { kind: "rejected", reason: "badLength", detail: `${size} bytes, this torrent's resume file has ${limit}` };
    const bytes = Buffer.alloc(size);
    const { bytesRead } = await handle.read(bytes, 0, size, 0);
    return decodeResume(bytes.subarray(0, bytesRead));
  } catch (error) {
    return { kind: "unreadable", detail: String(error) };
  } finally {
    await handle.close();
  }
}

export interface SaveResume {
  readonly file: string;
  readonly meta: ResumeLayout;
  readonly paths: readonly string[];
  /** A snapshot of the have bitfield's bytes, taken before this call (the files are stat'ed after). */
  readonly have: Buffer;
  /** Wall-clock time the snapshot was taken. */
  readonly savedAtMs: number;
}

export async function saveResume(save: SaveResume): Promise<void> {
  const files = await statFiles(save.meta.files, save.paths);
  const bytes = encodeResume({ infoHash: save.meta.infoHash, pieceCount: save.meta.pieceCount, have: save.have, files, savedAtMs: save.savedAtMs });
  await writeFileAtomic(save.file, bytes);
}

/** The startup plan from what is on disk now: the resume file (if any) against the files. */
export async function planFromDisk(meta: ResumeLayout, paths: readonly string[], file: string): Promise<StartupPlan> {
  const source = await readResume(file, meta);
  const now = await statFiles(meta.files, paths);
  return planStartup({ layout: meta, infoHash: meta.infoHash, source, now });
}

export type { FileStamp } from "./resume/format.js";
export type { FileVerdict, FullCheckReason, ResumeSource, StartupPlan } from "./resume/plan.js";
