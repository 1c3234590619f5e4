/**
 * hash_pool: the swarmsup_sup child that owns the node's SHA-1 worker pool (piscina,
 * src/storage/hashPool.ts), registered as "hash_pool".
 *
 * Guarantees:
 * - The pool is an adopted resource: destroyed when the actor exits, whatever the reason;
 *   on an orderly stop (it traps exits) terminate waits for the threads to end.
 * - The actor never waits for a hash: each task's promise enters its mailbox as a message
 *   and the caller gets a deferred reply, so hashes run in parallel on every thread while
 *   the actor stays responsive. A task the pool rejects (a worker thread died) crashes the
 *   actor: its supervisor restarts a fresh pool, and pending callers get the exit reason.
 * - `hashPiece` leaves the caller's bytes alone (they are copied into a buffer of their own
 *   that moves to the thread); `hashPieceMoved` moves the caller's ArrayBuffer there and
 *   back without a copy (detached meanwhile; lost if the pool dies: re-download it).
 * - `sha1Inline` is the main-thread alternative (no hop, ~0.6 ms per MiB of event loop):
 *   the download path picks by measurement (DESIGN.md).
 */
import { createHash } from "node:crypto";
import {
  defineServer,
  noreply,
  ok,
  reply,
  startServer,
  type From,
  type StartOptions,
  type StartResult,
} from "../src/runtime/index.js";
import type { FilePieceResult, FilePieceTask } from "../src/storage/filePiece.js";
import { createHashPool, pieceBuffer, type PieceHasher } from "../src/storage/hashPool.js";
import type { IoCaller } from "./io/caller.js";

export const HASH_POOL_NAME = "hash_pool";
/** A backlog of pieces can wait behind others on a busy pool; a minute means it is stuck. */
export const DEFAULT_HASH_TIMEOUT = 60_000;

export interface HashPoolArgs {
  /** Worker threads (default: the machine's parallelism). */
  readonly threads?: number;
  /** Tests inject a hasher to watch it; default createHashPool. */
  readonly createHasher?: () => PieceHasher;
}

type HashRequest =
  | { readonly op: "sha1"; readonly piece: ArrayBuffer }
  | { readonly op: "sha1Keep"; readonly piece: ArrayBuffer }
  | { readonly op: "filePieces"; readonly tasks: readonly FilePieceTask[] }
  | { readonly op: "info" };

type HashReply =
  | { readonly kind: "digest"; readonly digest: Buffer }
  | { readonly kind: "kept"; readonly digest: Buffer; readonly piece: ArrayBuffer }
  | { readonly kind: "filePieces"; readonly results: FilePieceResult[] }
  | { readonly kind: "info"; readonly hasher: PieceHasher["kind"]; readonly parallelism: number }
  | { readonly kind: "refused"; readonly error: TypeError };

class Hashed {
  constructor(
    readonly from: From,
    readonly reply: HashReply,
  ) {}
}

interface HashPoolState {
  readonly hasher: PieceHasher;
}

/** Edge check: a request's shape, or what is wrong with it. */
function parseRequest(request: unknown): HashRequest | string {
  if (typeof request !== "object" || request === null) return "not an object";
  const { op } = request as { op?: unknown };
  switch (op) {
    case "sha1":
    case "sha1Keep": {
      const piece = (request as { piece?: unknown }).piece;
      return piece instanceof ArrayBuffer ? { op, piece } : `${op}: piece is not an ArrayBuffer`;
    }
    case "filePieces": {
      const tasks = (request as { tasks?: unknown }).tasks;
      return Array.isArray(tasks) ? { op, tasks: tasks as FilePieceTask[] } : "filePieces: tasks is not an array";
    }
    case "info":
      return { op };
    default:
      return `unknown op ${String(op)}`;
  }
}

const hashPoolBehaviour = defineServer<HashPoolState, HashPoolArgs, unknown, never, unknown>({
  name: "hash_pool",

  init(args, ctx) {
    const make = args.createHasher ?? (() => createHashPool(args.threads === undefined ? {} : { threads: args.threads }));
    return ok({ hasher: ctx.adopt(make()) });
  },

  handleCall(request, from, state, ctx) {
    const parsed = parseRequest(request);
    if (typeof parsed === "string") return reply({ kind: "refused", error: new TypeError(`hash_pool: ${parsed}`) } satisfies HashReply, state);
    const hasher = state.hasher;
    switch (parsed.op) {
      case "sha1":
        ctx.pipe(hasher.sha1(parsed.piece), (digest) => new Hashed(from, { kind: "digest", digest }));
        return noreply(state);
      case "sha1Keep":
        ctx.pipe(hasher.sha1Keep(parsed.piece), (kept) => new Hashed(from, { kind: "kept", ...kept }));
        return noreply(state);
      case "filePieces":
        ctx.pipe(hasher.sha1OfFilePieces(parsed.tasks), (results) => new Hashed(from, { kind: "filePieces", results }));
        return noreply(state);
      case "info":
        return reply({ kind: "info", hasher: hasher.kind, parallelism: hasher.parallelism } satisfies HashReply, state);
      default: {
        const never: never = parsed;
        throw new Error(`unknown hash request ${JSON.stringify(never)}`);
      }
    }
  },

  handleInfo(msg, state, ctx) {
    if (msg instanceof Hashed) ctx.replyTo(msg.from, msg.reply);
    return noreply(state);
  },

  terminate(_reason, state) {
    return state.hasher.close();
  },
});

/** Starts hash_pool (linked to the calling actor, e.g. swarmsup_sup). */
export function startHashPool(args: HashPoolArgs = {}, options: StartOptions = {}): Promise<StartResult> {
  return startServer(hashPoolBehaviour, args, { name: HASH_POOL_NAME, trapExit: true, ...options });
}

async function ask<K extends HashReply["kind"]>(via: IoCaller, request: HashRequest, kind: K, timeoutMs: number): Promise<Extract<HashReply, { kind: K }>> {
  const answer = await via.call<HashReply>(HASH_POOL_NAME, request, timeoutMs);
  if (answer.kind === "refused") throw answer.error;
  if (answer.kind !== kind) throw new TypeError(`hash_pool answered ${request.op} with ${answer.kind}`);
  return answer as Extract<HashReply, { kind: K }>;
}

/** SHA-1 of data on the pool; data itself is not moved (a copy travels to the thread). */
export async function hashPiece(via: IoCaller, data: Uint8Array, timeoutMs = DEFAULT_HASH_TIMEOUT): Promise<Buffer> {
  const piece = pieceBuffer(data.length);
  piece.set(data);
  return (await ask(via, { op: "sha1", piece: piece.buffer as ArrayBuffer }, "digest", timeoutMs)).digest;
}

/** SHA-1 of a piece that owns its ArrayBuffer (pieceBuffer), moved to the thread and back without a copy. */
export async function hashPieceMoved(via: IoCaller, piece: ArrayBuffer, timeoutMs = DEFAULT_HASH_TIMEOUT): Promise<{ digest: Buffer; piece: ArrayBuffer }> {
  const { digest, piece: back } = await ask(via, { op: "sha1Keep", piece }, "kept", timeoutMs);
  return { digest, piece: back };
}

/**
 * A PieceHasher whose work goes through hash_pool (for verifyPayload and recheck: bulk
 * work on the node's one pool). close() is a no-op: the actor owns the pool.
 */
export async function poolHasher(via: IoCaller, timeoutMs = DEFAULT_HASH_TIMEOUT): Promise<PieceHasher> {
  const info = await ask(via, { op: "info" }, "info", timeoutMs);
  return {
    kind: info.hasher,
    parallelism: info.parallelism,
    sha1: async (piece) => (await ask(via, { op: "sha1", piece }, "digest", timeoutMs)).digest,
    sha1Keep: (piece) => hashPieceMoved(via, piece, timeoutMs),
    sha1OfFilePieces: async (tasks) => (await ask(via, { op: "filePieces", tasks }, "filePieces", timeoutMs)).results,
    close: async () => undefined,
  };
}

/** SHA-1 on the calling thread: no copy, no hop, but it holds the event loop (~0.6 ms per MiB). */
export function sha1Inline(data: Uint8Array): Buffer {
  return createHash("sha1").update(data).digest();
}
