/**
 * The read -> hash pipeline shared by create, verify and (later) recheck, in two
 * strategies with the same outcomes:
 * - "workerReads" (default): the hasher's threads read each piece themselves and hash
 *   it while it is hot in their cache (filePiece.ts has the measurements);
 * - "transfer": the main thread reads each piece (PieceSource, two reads at once) into
 *   a buffer of its own, moves it to a worker and gets it back for the next read —
 *   the download path's mechanism, kept for comparison (bench/hash.ts).
 * Guarantees of both: at most `inFlight` jobs are alive at once, so memory and the
 * pool's queue are bounded (a job is one piece buffer for "transfer"; for
 * "workerReads" a batch of up to BATCH_BYTES described by offsets, whose bytes only
 * ever exist in each worker's one scratch buffer); every requested piece gets exactly one outcome, in
 * completion order; the returned promise settles only after everything it started has
 * settled (the first error wins; an abort stops taking new pieces).
 */
import type { PieceHasher } from "./hashPool.js";
import { filePieceTask, type FilePieceTask } from "./filePiece.js";
import { pieceSize, type PayloadLayout } from "./layout.js";
import { PayloadReadError, PieceSource, type MissingReason } from "./pieceSource.js";

export type PieceHashOutcome =
  | { readonly kind: "hashed"; readonly piece: number; readonly size: number; readonly digest: Buffer }
  | { readonly kind: "missing"; readonly piece: number; readonly size: number; readonly fileIndex: number; readonly reason: MissingReason };

export type HashStrategy = "workerReads" | "transfer";

export interface HashPiecesOptions {
  readonly layout: PayloadLayout;
  /** Where each of `layout.files` lives on disk. */
  readonly paths: readonly string[];
  readonly hasher: PieceHasher;
  /** Piece indices, roughly in reading order. */
  readonly pieces: Iterable<number>;
  /** Called once per piece; a throw here stops the pipeline and rejects the run. */
  readonly onOutcome: (outcome: PieceHashOutcome) => void;
  /** Jobs alive at once (see above); default `defaultInFlight(hasher, pieceLength)`. */
  readonly inFlight?: number;
  readonly strategy?: HashStrategy;
  readonly signal?: AbortSignal;
}

/** Bytes of piece data the pipeline may hold by default (a cap for large pieces). */
export const IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/** Enough to keep every worker busy while the next pieces are read: 2 x workers + 2, within IN_FLIGHT_BYTES. */
export function defaultInFlight(hasher: PieceHasher, pieceLength: number): number {
  const byCount = 2 * hasher.parallelism + 2;
  const byBytes = Math.max(2, Math.floor(IN_FLIGHT_BYTES / pieceLength));
  return Math.min(byCount, byBytes);
}

/** Reads in flight for "transfer": one alone leaves two workers waiting ~40% of the time. */
const TRANSFER_READERS = 2;

/** Pieces sent to a worker in one message (filePiece.ts): up to this many bytes, at least one piece. */
export const BATCH_BYTES = 2 * 1024 * 1024;

export async function hashPieces(options: HashPiecesOptions): Promise<void> {
  const limit = options.inFlight ?? defaultInFlight(options.hasher, options.layout.pieceLength);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`inFlight must be a positive integer, got ${limit}`);
  const strategy = options.strategy ?? "workerReads";
  switch (strategy) {
    case "workerReads": {
      const batchSize = Math.max(1, Math.floor(BATCH_BYTES / options.layout.pieceLength));
      return runBounded(options, { limit, starters: 1, batchSize }, (pieces) => hashOnWorker(options, pieces));
    }
    case "transfer": {
      const source = new PieceSource(options.layout, options.paths);
      const spare: Buffer[] = [];
      // More readers than jobs alive could leave a reader waiting with nothing to wake it.
      const shape = { limit, starters: Math.min(limit, TRANSFER_READERS), batchSize: 1 };
      try {
        return await runBounded(options, shape, ([piece]) => readThenTransfer(options, source, spare, limit, piece as number));
      } finally {
        await source.close();
      }
    }
    default: {
      const never: never = strategy;
      throw new Error(`unknown strategy ${String(never)}`);
    }
  }
}

/** A started job: `outcomes` settles when they are known. Wrapped, because a promise of a promise flattens. */
interface Started {
  readonly outcomes: Promise<PieceHashOutcome[]>;
}

interface RunShape {
  /** Jobs alive at once. */
  readonly limit: number;
  /** Jobs being started at once (reads in flight for "transfer"). */
  readonly starters: number;
  /** Pieces per job. */
  readonly batchSize: number;
}

/**
 * Runs `start(batch)` over the pieces, `batchSize` pieces per job, `starters` starting
 * at once, at most `limit` jobs alive. `start` resolves when the job no longer needs
 * its starter (its reads are done), handing over the promise of its outcomes.
 */
async function runBounded(options: HashPiecesOptions, shape: RunShape, start: (pieces: number[]) => Promise<Started>): Promise<void> {
  const queue = options.pieces[Symbol.iterator]();
  const alive = new Set<Promise<void>>();
  let starting = 0;
  let failure: { readonly error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
  };
  const nextBatch = (): number[] => {
    const batch: number[] = [];
    for (let next = queue.next(); next.done !== true; next = queue.next()) {
      batch.push(next.value);
      if (batch.length >= shape.batchSize) break;
    }
    return batch;
  };

  const starter = async (): Promise<void> => {
    while (failure === undefined) {
      // `starting` counts other starters' jobs not yet in `alive`.
      while (alive.size + starting >= shape.limit && failure === undefined) await Promise.race(alive);
      if (failure !== undefined) return;
      options.signal?.throwIfAborted();
      const batch = nextBatch();
      if (batch.length === 0) return;
      starting++;
      let started: Started;
      try {
        started = await start(batch);
      } finally {
        starting--;
      }
      const job: Promise<void> = started.outcomes
        .then((outcomes) => outcomes.forEach((outcome) => options.onOutcome(outcome)))
        .catch(fail)
        .finally(() => alive.delete(job));
      alive.add(job);
    }
  };

  await Promise.all(Array.from({ length: shape.starters }, () => starter().catch(fail)));
  await Promise.all(alive);
  if (failure !== undefined) throw failure.error;
  options.signal?.throwIfAborted(); // an abort during the last jobs still means "not finished"
}

async function hashOnWorker(options: HashPiecesOptions, pieces: readonly number[]): Promise<Started> {
  const tasks = pieces.map((piece) => filePieceTask(options.layout, options.paths, piece));
  const outcomes = options.hasher.sha1OfFilePieces(tasks).then((results) =>
    results.map((result, i): PieceHashOutcome => {
      const { piece, size } = tasks[i] as FilePieceTask;
      switch (result.kind) {
        case "hashed":
          return { kind: "hashed", piece, size, digest: result.digest };
        case "missing":
          return { kind: "missing", piece, size, fileIndex: result.fileIndex, reason: result.reason };
        case "failed":
          throw new PayloadReadError(result.path, new Error(result.message));
        default: {
          const never: never = result;
          throw new Error(`unknown result ${JSON.stringify(never)}`);
        }
      }
    }),
  );
  return { outcomes };
}

async function readThenTransfer(
  options: HashPiecesOptions,
  source: PieceSource,
  spare: Buffer[],
  limit: number,
  piece: number,
): Promise<Started> {
  const size = pieceSize(options.layout, piece);
  const reuse = spare.at(-1)?.length === size ? spare.pop() : undefined;
  const read = await source.readPiece(piece, reuse);
  if (read.kind === "missing") {
    if (reuse !== undefined) spare.push(reuse);
    return { outcomes: Promise.resolve([{ kind: "missing", piece, size, fileIndex: read.fileIndex, reason: read.reason }]) };
  }
  const outcomes = options.hasher.sha1Keep(read.data.buffer as ArrayBuffer).then(({ digest, piece: bytes }): PieceHashOutcome[] => {
    if (spare.length < limit) spare.push(Buffer.from(bytes));
    return [{ kind: "hashed", piece, size, digest }];
  });
  return { outcomes };
}
