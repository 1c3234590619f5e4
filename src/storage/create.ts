/**
 * Makes a v1 .torrent from a file or a directory: scan (scan.ts: order, symlinks),
 * choose the piece length (pieceLength.ts), stream the files through the hash pool
 * piece by piece (never a whole file in memory), then encode (protocol/metainfo.ts).
 * A file that shrinks or vanishes while it is hashed fails the job instead of
 * producing a torrent nobody can complete.
 */
import { buildTorrent } from "../protocol/metainfo.js";
import type { FileEntry, Metainfo } from "../protocol/types.js";
import type { PieceHasher } from "./hashPool.js";
import type { PayloadLayout } from "./layout.js";
import { hashPieces, type HashStrategy, type PieceHashOutcome } from "./pieceHashing.js";
import { autoPieceLength, pieceLengthProblem } from "./pieceLength.js";
import { PayloadScanError, scanPayload, type ScannedPayload } from "./scan.js";

export interface CreateTorrentOptions {
  /** The file or directory to share. */
  readonly path: string;
  readonly hasher: PieceHasher;
  /** Default: the base name of `path`. */
  readonly name?: string;
  /** Default: `autoPieceLength` of the payload's size. */
  readonly pieceLength?: number;
  /** Tracker URLs; each becomes its own tier (BEP 12), the first is also `announce`. */
  readonly announce?: readonly string[];
  /** BEP 19 `url-list`. */
  readonly webSeeds?: readonly string[];
  readonly private?: boolean;
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the epoch; default now. */
  readonly creationDate?: number;
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  /** Default "workerReads" (pieceHashing.ts). */
  readonly strategy?: HashStrategy;
  readonly signal?: AbortSignal;
}

export interface CreatedTorrent {
  /** The .torrent file's bytes. */
  readonly torrent: Buffer;
  readonly metainfo: Metainfo;
}

export async function createTorrent(options: CreateTorrentOptions): Promise<CreatedTorrent> {
  return createTorrentFrom(await scanPayload(options.path), options);
}

/** `createTorrent` for a payload already scanned (a caller may pick the hasher by its size). */
export async function createTorrentFrom(scanned: ScannedPayload, options: Omit<CreateTorrentOptions, "path">): Promise<CreatedTorrent> {
  const pieceLength = options.pieceLength ?? autoPieceLength(scanned.length);
  const pieceHashes = await hashPayload(scanned, {
    pieceLength,
    hasher: options.hasher,
    onProgress: options.onProgress,
    strategy: options.strategy,
    signal: options.signal,
  });
  return buildTorrent({
    name: options.name ?? scanned.name,
    files: scanned.files.map((file) => ({ path: [...file.path], length: file.length })),
    pieceLength,
    pieceHashes,
    announce: (options.announce ?? []).map((url) => [url]),
    webSeeds: [...(options.webSeeds ?? [])],
    private: options.private ?? false,
    createdBy: options.createdBy,
    creationDate: options.creationDate ?? Math.floor(Date.now() / 1000),
    comment: options.comment,
  });
}

export interface HashPayloadOptions {
  readonly pieceLength: number;
  readonly hasher: PieceHasher;
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  readonly strategy?: HashStrategy;
  readonly signal?: AbortSignal;
}

/** The concatenated SHA-1s of the scanned payload's pieces (20 bytes each, in order). */
export async function hashPayload(scanned: ScannedPayload, options: HashPayloadOptions): Promise<Buffer> {
  const { pieceLength, onProgress } = options;
  const problem = pieceLengthProblem(pieceLength);
  if (problem !== undefined) throw new RangeError(problem);
  const layout = layoutOf(scanned, pieceLength);
  const hashes = Buffer.alloc(layout.pieceCount * 20);
  let hashedBytes = 0;
  const record = (outcome: PieceHashOutcome): void => {
    switch (outcome.kind) {
      case "hashed":
        outcome.digest.copy(hashes, outcome.piece * 20);
        hashedBytes += outcome.size;
        onProgress?.(hashedBytes, layout.length);
        return;
      case "missing": {
        const file = scanned.files[outcome.fileIndex];
        throw new PayloadScanError(file?.absolutePath ?? scanned.name, "changed while it was being hashed (it shrank or vanished)");
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  };
  await hashPieces({
    layout,
    paths: scanned.files.map((file) => file.absolutePath),
    hasher: options.hasher,
    pieces: indices(layout.pieceCount),
    onOutcome: record,
    strategy: options.strategy,
    signal: options.signal,
  });
  return hashes;
}

/** The scanned files as a payload layout (no pad files: we do not insert any). */
export function layoutOf(scanned: ScannedPayload, pieceLength: number): PayloadLayout {
  let offset = 0;
  const files: FileEntry[] = scanned.files.map((file) => {
    const entry: FileEntry = { path: [scanned.name, ...file.path], length: file.length, offset, pad: false };
    offset += file.length;
    return entry;
  });
  return { pieceLength, pieceCount: Math.ceil(offset / pieceLength), length: offset, files };
}

function* indices(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}
