/**
 * The run's payload and the bytes it is judged by: a fresh file of random bytes (or the
 * user's --file, linked, never copied or written to), the .torrent for it announcing the
 * embedded tracker, the sha256 of each of its files taken before the run, and the checks
 * made on disk after it (each member's files against those digests; after a SIGKILL, the
 * member's resume file against its data).
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, realpath, symlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Metainfo } from "../protocol/types.js";
import { createTorrent } from "../storage/create.js";
import { resolveDataFiles, type DataLocation } from "../storage/dataPath.js";
import { createHashPool, createInlineHasher } from "../storage/hashPool.js";
import { readResume, resumeFileOf } from "../storage/resume.js";
import { verifyPayload } from "../storage/verify.js";
import { Bitfield } from "../protocol/wire/bitfield.js";
import type { IntegrityFinding } from "./invariants.js";
import type { ResumeVerdict } from "./ledger.js";

const CHUNK = 1024 * 1024;

export interface Payload {
  /** The path the seed serves (a link to --file, or the generated file), inside the run's dir. */
  readonly seedPath: string;
  readonly meta: Metainfo;
  readonly torrentFile: string;
  /** sha256 per file of meta.files (undefined for pad files), taken before the run. */
  readonly digests: readonly (string | undefined)[];
}

export type PayloadSource = { readonly kind: "random"; readonly bytes: number } | { readonly kind: "file"; readonly path: string };

/** Writes `bytes` random bytes to `path`, 1 MiB at a time. */
async function writeRandom(path: string, bytes: number): Promise<void> {
  const file = await open(path, "w");
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(CHUNK, bytes - done);
      await file.write(randomBytes(n));
      done += n;
    }
  } finally {
    await file.close();
  }
}

export async function preparePayload(source: PayloadSource, seedDir: string, announce: string, pieceLength: number | undefined): Promise<Payload> {
  await mkdir(seedDir, { recursive: true });
  let original: string;
  let seedPath: string;
  switch (source.kind) {
    case "random":
      original = seedPath = join(seedDir, `swarm-${source.bytes}.bin`);
      await writeRandom(seedPath, source.bytes);
      break;
    case "file":
      // The seed's resume file lands beside what it serves: beside the link, in the run's dir.
      original = await realpath(source.path);
      seedPath = join(seedDir, basename(original));
      await symlink(original, seedPath);
      break;
    default: {
      const never: never = source;
      throw new Error(`unknown payload source ${JSON.stringify(never)}`);
    }
  }
  const hasher = createHashPool();
  let created;
  try {
    created = await createTorrent({ path: original, hasher, announce: [announce], ...(pieceLength === undefined ? {} : { pieceLength }), createdBy: "swarmsup swarm" });
  } finally {
    await hasher.close();
  }
  const torrentFile = join(seedDir, "..", "swarm.torrent");
  await writeFile(torrentFile, created.torrent);
  const meta = created.metainfo;
  const digests = await digestFiles(meta, { kind: "dataPath", path: seedPath });
  return { seedPath, meta, torrentFile, digests };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function digestFiles(meta: Metainfo, location: DataLocation): Promise<(string | undefined)[]> {
  const paths = resolveDataFiles(meta, location);
  const out: (string | undefined)[] = [];
  for (const [i, file] of meta.files.entries()) out.push(file.pad ? undefined : await sha256File(paths[i] as string));
  return out;
}

/** Every file of a member against the payload's digests. */
export async function checkIntegrity(payload: Payload, location: DataLocation): Promise<IntegrityFinding> {
  const paths = resolveDataFiles(payload.meta, location);
  let files = 0;
  for (const [i, expected] of payload.digests.entries()) {
    if (expected === undefined) continue;
    const path = paths[i] as string;
    let actual: string;
    try {
      actual = await sha256File(path);
    } catch (error) {
      return { kind: "unreadable", file: path, why: error instanceof Error ? error.message : String(error) };
    }
    if (actual !== expected) return { kind: "mismatch", file: path };
    files++;
  }
  return { kind: "match", files };
}

/** After a SIGKILL: the member's resume file, and whether every piece it claims is valid on disk. */
export async function checkResume(meta: Metainfo, location: DataLocation): Promise<ResumeVerdict> {
  const paths = resolveDataFiles(meta, location);
  const source = await readResume(resumeFileOf(meta, paths), meta);
  switch (source.kind) {
    case "none":
      return { kind: "noFile" };
    case "unreadable":
      return { kind: "unusable", why: source.detail };
    case "rejected":
      return { kind: "unusable", why: `${source.reason}: ${source.detail}` };
    case "decoded": {
      const have = Bitfield.fromBytes(meta.pieceCount, source.data.have);
      if (!(have instanceof Bitfield)) return { kind: "unusable", why: "its have bitfield is malformed" };
      const claimed = [...have.indices()];
      const hasher = createInlineHasher();
      try {
        const result = await verifyPayload({ meta, paths, hasher, pieces: claimed });
        return { kind: "checked", claimed: claimed.length, invalid: [...result.invalid, ...result.missing].sort((a, b) => a - b) };
      } finally {
        await hasher.close();
      }
    }
    default: {
      const never: never = source;
      throw new Error(`unknown resume source ${JSON.stringify(never)}`);
    }
  }
}

/** Test-only sabotage: flip one byte in the middle of a member's first data file. */
export async function flipByte(meta: Metainfo, location: DataLocation): Promise<string> {
  const paths = resolveDataFiles(meta, location);
  const i = meta.files.findIndex((f) => !f.pad && f.length > 0);
  const path = paths[i] as string;
  const at = Math.floor((meta.files[i]?.length ?? 1) / 2);
  const file = await open(path, "r+");
  try {
    const b = Buffer.alloc(1);
    await file.read(b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0xff;
    await file.write(b, 0, 1, at);
  } finally {
    await file.close();
  }
  return path;
}


