/**
 * The read -> hash pipeline shared by create, verify and (later) recheck: one reader
 * walks the requested pieces in order while the hasher works on the ones already read.
 * Memory is bounded: at most `inFlight` pieces exist at once (read, queued or hashing).
 * Outcomes arrive in completion order, not piece order. The returned promise settles
 * only after every piece it started has settled, so nothing runs on after a failure.
 */
import type { PieceHasher } from "./hashPool.js";
import type { MissingReason, PieceSource } from "./pieceSource.js";

export type PieceHashOutcome =
  | { readonly kind: "hashed"; readonly piece: number; readonly size: number; readonly digest: Buffer }
  | { readonly kind: "missing"; readonly piece: number; readonly size: number; readonly fileIndex: number; readonly reason: MissingReason };

export interface HashPiecesOptions {
  readonly source: PieceSource;
  readonly hasher: PieceHasher;
  /** Piece indices to read, in reading order. */
  readonly pieces: Iterable<number>;
  /** Called once per piece; a throw here stops the pipeline and rejects the run. */
  readonly onOutcome: (outcome: PieceHashOutcome) => void;
  /** Pieces alive at once; default `defaultInFlight(hasher, pieceLength)`. */
  readonly inFlight?: number;
  readonly signal?: AbortSignal;
}

/** Bytes of piece data the pipeline may hold by default (a cap for large pieces). */
export const IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/** Enough to keep every worker busy while the reader fetches the next piece: 2 x workers + 2, within IN_FLIGHT_BYTES. */
export function defaultInFlight(hasher: PieceHasher, pieceLength: number): number {
  const byCount = 2 * hasher.parallelism + 2;
  const byBytes = Math.max(2, Math.floor(IN_FLIGHT_BYTES / pieceLength));
  return Math.min(byCount, byBytes);
}

export async function hashPieces(options: HashPiecesOptions): Promise<void> {
  const { source, hasher, onOutcome, signal } = options;
  const limit = options.inFlight ?? defaultInFlight(hasher, source.layout.pieceLength);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`inFlight must be a positive integer, got ${limit}`);
  const pending = new Set<Promise<void>>();
  let failure: { readonly error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
  };
  try {
    for (const piece of options.pieces) {
      if (failure !== undefined) break;
      signal?.throwIfAborted();
      while (pending.size >= limit) await Promise.race(pending);
      if (failure !== undefined) break;
      const read = await source.readPiece(piece);
      if (read.kind === "missing") {
        onOutcome({ kind: "missing", piece, size: read.size, fileIndex: read.fileIndex, reason: read.reason });
        continue;
      }
      const size = read.data.byteLength;
      const hashing: Promise<void> = hasher
        .sha1(read.data.buffer as ArrayBuffer)
        .then((digest) => onOutcome({ kind: "hashed", piece, size, digest }))
        .catch(fail)
        .finally(() => pending.delete(hashing));
      pending.add(hashing);
    }
  } catch (err) {
    fail(err);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure.error;
}
