/**
 * Checks data on disk against a torrent's piece hashes: `swarmsup verify` today, the
 * torrent's start-up check and recheck later. Every requested piece gets exactly one
 * verdict: "valid" (read and its SHA-1 matched), "invalid" (read, SHA-1 differs) or
 * "missing" (some of its bytes are not on disk: a file absent, not a regular file, or
 * shorter than needed). Pad files are zeros and never read. Memory stays bounded by
 * the pipeline (pieceHashing.ts).
 */
import type { Metainfo } from "../protocol/types.js";
import type { PieceHasher } from "./hashPool.js";
import { pieceSize, type PayloadLayout } from "./layout.js";
import { hashPieces, type HashStrategy, type PieceHashOutcome } from "./pieceHashing.js";
import type { MissingReason } from "./pieceSource.js";

export type VerifyLayout = PayloadLayout & Pick<Metainfo, "pieceHashes">;

export type PieceVerdict =
  | { readonly kind: "valid"; readonly piece: number }
  | { readonly kind: "invalid"; readonly piece: number; readonly expected: Buffer; readonly actual: Buffer }
  | { readonly kind: "missing"; readonly piece: number; readonly fileIndex: number; readonly reason: MissingReason };

export interface VerifyResult {
  /** Pieces checked (all of them, or the subset asked for). */
  readonly pieces: number;
  readonly valid: number;
  /** Ascending. */
  readonly invalid: number[];
  /** Ascending. */
  readonly missing: number[];
}

export interface VerifyOptions {
  readonly meta: VerifyLayout;
  /** Where each of `meta.files` lives (see dataPath.ts `resolveDataFiles`). */
  readonly paths: readonly string[];
  readonly hasher: PieceHasher;
  /** Only these pieces (each once, any order); default all. */
  readonly pieces?: readonly number[];
  /** Bytes checked so far (missing pieces count as checked) out of the bytes asked for. */
  readonly onProgress?: (checkedBytes: number, totalBytes: number) => void;
  /** Every verdict as it lands (completion order). */
  readonly onPiece?: (verdict: PieceVerdict) => void;
  readonly inFlight?: number;
  /** Default "workerReads" (pieceHashing.ts). */
  readonly strategy?: HashStrategy;
  readonly signal?: AbortSignal;
}

export async function verifyPayload(options: VerifyOptions): Promise<VerifyResult> {
  const { meta, onProgress, onPiece } = options;
  const pieces = options.pieces ?? Array.from({ length: meta.pieceCount }, (_, i) => i);
  if (meta.pieceHashes.length !== meta.pieceCount * 20) {
    throw new RangeError(`${meta.pieceHashes.length} bytes of piece hashes for ${meta.pieceCount} pieces`);
  }
  const totalBytes = bytesOfPieces(meta, pieces);
  const invalid: number[] = [];
  const missing: number[] = [];
  let valid = 0;
  let checkedBytes = 0;
  const record = (outcome: PieceHashOutcome): void => {
    const verdict = judge(meta, outcome);
    switch (verdict.kind) {
      case "valid":
        valid++;
        break;
      case "invalid":
        invalid.push(verdict.piece);
        break;
      case "missing":
        missing.push(verdict.piece);
        break;
      default: {
        const never: never = verdict;
        throw new Error(`unknown verdict ${JSON.stringify(never)}`);
      }
    }
    checkedBytes += outcome.size;
    onPiece?.(verdict);
    onProgress?.(checkedBytes, totalBytes);
  };
  await hashPieces({
    layout: meta,
    paths: options.paths,
    hasher: options.hasher,
    pieces,
    onOutcome: record,
    inFlight: options.inFlight,
    strategy: options.strategy,
    signal: options.signal,
  });
  const ascending = (a: number, b: number): number => a - b;
  return { pieces: pieces.length, valid, invalid: invalid.sort(ascending), missing: missing.sort(ascending) };
}

/** Pure: the verdict a hashing outcome earns against the torrent's expected hash. */
export function judge(meta: Pick<Metainfo, "pieceHashes">, outcome: PieceHashOutcome): PieceVerdict {
  switch (outcome.kind) {
    case "missing":
      return { kind: "missing", piece: outcome.piece, fileIndex: outcome.fileIndex, reason: outcome.reason };
    case "hashed": {
      const expected = meta.pieceHashes.subarray(outcome.piece * 20, outcome.piece * 20 + 20);
      return expected.equals(outcome.digest)
        ? { kind: "valid", piece: outcome.piece }
        : { kind: "invalid", piece: outcome.piece, expected, actual: outcome.digest };
    }
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

function bytesOfPieces(meta: PayloadLayout, pieces: readonly number[]): number {
  const seen = new Set<number>();
  let bytes = 0;
  for (const piece of pieces) {
    const size = pieceSize(meta, piece); // throws for a piece that does not exist
    if (seen.has(piece)) throw new RangeError(`piece ${piece} is asked for twice`);
    seen.add(piece);
    bytes += size;
  }
  return bytes;
}
