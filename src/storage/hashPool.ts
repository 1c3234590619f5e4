/**
 * SHA-1 of pieces, off the main thread (a piscina pool) or on it (inline), behind one
 * interface so callers choose by measurement. Two ways in:
 * - pieces already in memory (the download path): the pool never copies one; each
 *   travels in an ArrayBuffer of its own that is transferred to the worker (the
 *   caller's reference is detached: byteLength 0 afterwards), and `sha1Keep` transfers
 *   it back. An ArrayBuffer holding more than the piece would be transferred whole, so
 *   callers allocate one per piece (`pieceBuffer`);
 * - pieces on disk (create, verify, recheck): `sha1OfFilePieces` sends only where the
 *   bytes are and the worker reads them itself (filePiece.ts has the measurements).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { log } from "../log.js";
import { filePieceHasher, type FilePieceResult, type FilePieceTask } from "./filePiece.js";
import type { MissingReason } from "./pieceSource.js";

export interface PieceHasher {
  readonly kind: "pool" | "inline";
  /** How many pieces it hashes at once (threads for the pool, 1 inline). */
  readonly parallelism: number;
  /** SHA-1 of the whole ArrayBuffer. The pool takes `piece` away: it is detached on return. */
  sha1(piece: ArrayBuffer): Promise<Buffer>;
  /** SHA-1, and the piece's bytes handed back (moved, not copied) for writing. */
  sha1Keep(piece: ArrayBuffer): Promise<{ digest: Buffer; piece: ArrayBuffer }>;
  /** Reads pieces from their files and hashes them, both on the hasher's thread (the bulk path: filePiece.ts). */
  sha1OfFilePieces(tasks: readonly FilePieceTask[]): Promise<FilePieceResult[]>;
  /** Stops the workers; pending hashes reject. Idempotent. */
  close(): Promise<void>;
}

/** A zero-copy home for one piece: a Buffer that owns its whole ArrayBuffer (never the shared slab). */
export function pieceBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size);
}

/**
 * The compiled worker. Worker threads cannot load TypeScript, so the worker is always
 * dist/src/storage/hashWorker.js: beside this module when it runs compiled (found as
 * ../storage/ so that it resolves the same from the CLI bundle, dist/src/cli/swarmsup.mjs,
 * where this code is inlined), and when it runs from src/ under vitest (a .ts module URL)
 * the same file under dist/, which
 * `npm run build` (and `npm ci` via `prepare`) produces. A missing build is an error
 * that says so, not a hang; a stale one runs the worker as last built (its code is
 * small: hashWorker.ts and filePiece.ts).
 */
export function hashWorkerFile(moduleUrl: string = import.meta.url): string {
  const fromSources = new URL(moduleUrl).pathname.endsWith(".ts");
  const url = fromSources
    ? new URL("../../dist/src/storage/hashWorker.js", moduleUrl)
    : new URL("../storage/hashWorker.js", moduleUrl);
  const file = fileURLToPath(url);
  if (!existsSync(file)) {
    throw new Error(`the hash worker ${file} does not exist: run \`npm run build\` first`);
  }
  return file;
}

/** Matches the pipeline's default of 2 x workers + 2 pieces in flight. */
const TASKS_QUEUED_PER_WORKER = 3;

export interface HashPoolOptions {
  /** Worker threads; default os.availableParallelism(). */
  readonly threads?: number;
}

export function createHashPool(options: HashPoolOptions = {}): PieceHasher {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const pool = new Piscina({
    filename: hashWorkerFile(),
    // Threads start on the first task and end after a minute idle: most nodes hash on the
    // pool only for a start-up check (downloads hash inline), and a swarm node that has
    // nothing to check would pay ~0.13 CPU-s and ~20 MB RSS for two threads it never uses.
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 60_000,
    // Tasks wait in the worker's own port, so a worker that finishes one starts the next
    // without a round trip through the main thread. Measured (1 GiB verify, 2 cores):
    // with 1, each worker idled ~30% waiting for the main thread to be scheduled.
    concurrentTasksPerWorker: TASKS_QUEUED_PER_WORKER,
  });
  let closing: Promise<void> | undefined;
  // Piscina forgets it was destroyed once destroy() settles and would start fresh threads
  // for a later task, threads nobody closes: a closed hasher refuses work instead.
  const run = (task: unknown, name: string): Promise<unknown> =>
    closing === undefined ? pool.run(task, { name }) : Promise.reject(new Error("hash pool is closed"));
  return {
    kind: "pool",
    parallelism: threads,
    async sha1(piece) {
      const digest: unknown = await run(Piscina.move(piece), "sha1");
      return asDigest(digest);
    },
    async sha1Keep(piece) {
      const reply: unknown = await run(Piscina.move(piece), "sha1Keep");
      if (typeof reply !== "object" || reply === null || !("digest" in reply) || !("piece" in reply) || !(reply.piece instanceof ArrayBuffer)) {
        throw new TypeError("hash worker returned a malformed reply");
      }
      return { digest: asDigest(reply.digest), piece: reply.piece };
    },
    async sha1OfFilePieces(tasks) {
      const reply: unknown = await run(tasks, "sha1OfFilePieces");
      if (!Array.isArray(reply) || reply.length !== tasks.length) throw new TypeError("hash worker returned a malformed batch reply");
      return reply.map(asFilePieceResult);
    },
    close() {
      closing ??= pool.destroy();
      return closing;
    },
  };
}

/**
 * Below this many bytes a one-shot job (a CLI create or verify) hashes inline: booting
 * the pool's threads costs ~80-130 ms here, and measured in-process (verify, page cache
 * warm) inline took 51-64 ms for 64 MiB vs 80-106 ms on the pool, and broke even at
 * 256 MiB (165-190 vs 158-178 ms).
 */
export const POOL_MIN_PAYLOAD_BYTES = 128 * 1024 * 1024;

/** The hasher for a job that hashes `payloadBytes` once and ends: inline when small, else a pool. */
export function oneShotHasher(payloadBytes: number): PieceHasher {
  const hasher = payloadBytes < POOL_MIN_PAYLOAD_BYTES ? createInlineHasher() : createHashPool();
  log.debug({ hasher: hasher.kind, parallelism: hasher.parallelism, payloadBytes }, "hasher chosen");
  return hasher;
}

/** The same interface on the main thread: no thread hop, but it blocks the event loop ~0.5 ms per MiB. */
export function createInlineHasher(): PieceHasher {
  const digestOf = (piece: ArrayBuffer): Buffer => createHash("sha1").update(new Uint8Array(piece)).digest();
  const hashBatch = filePieceHasher();
  return {
    kind: "inline",
    parallelism: 1,
    sha1: async (piece) => digestOf(piece),
    sha1Keep: async (piece) => ({ digest: digestOf(piece), piece }),
    sha1OfFilePieces: async (tasks) => hashBatch(tasks),
    close: async () => undefined,
  };
}

/** Narrows a worker's reply (structured clone keeps the shape, not the classes). */
function asFilePieceResult(reply: unknown): FilePieceResult {
  // Not a class instance after structured clone: check the shape field by field.
  if (typeof reply === "object" && reply !== null && "kind" in reply) {
    if (reply.kind === "hashed" && "digest" in reply) return { kind: "hashed", digest: asDigest(reply.digest) };
    if (reply.kind === "missing" && "fileIndex" in reply && "reason" in reply && typeof reply.fileIndex === "number" && isMissingReason(reply.reason)) {
      return { kind: "missing", fileIndex: reply.fileIndex, reason: reply.reason };
    }
    if (reply.kind === "failed" && "path" in reply && "message" in reply && typeof reply.path === "string" && typeof reply.message === "string") {
      return { kind: "failed", path: reply.path, message: reply.message };
    }
  }
  throw new TypeError("hash worker returned a malformed file-piece reply");
}

const isMissingReason = (value: unknown): value is MissingReason => value === "absent" || value === "notAFile" || value === "short";

/** Structured clone turns the worker's Buffer into a plain Uint8Array: view it as a Buffer again. */
function asDigest(value: unknown): Buffer {
  if (!(value instanceof Uint8Array) || value.byteLength !== 20) {
    throw new TypeError("hash worker returned something other than a 20-byte digest");
  }
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
