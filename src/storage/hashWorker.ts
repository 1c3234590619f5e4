/**
 * The piscina worker of the hash pool. It runs as compiled JS only
 * (dist/src/storage/hashWorker.js; see `hashWorkerFile` in hashPool.ts for why).
 * `sha1`/`sha1Keep` take a piece in an ArrayBuffer of its own, transferred to this
 * thread; `sha1OfFilePieces` reads the pieces here (filePiece.ts says why).
 */
import { createHash } from "node:crypto";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { filePieceHasher, type FilePieceResult, type FilePieceTask } from "./filePiece.js";

/** SHA-1 of the piece; the piece's memory is dropped with this thread's reference to it. */
export function sha1(piece: ArrayBuffer): Uint8Array {
  return createHash("sha1").update(new Uint8Array(piece)).digest();
}

/** SHA-1 of the piece, and the piece transferred back, so the caller can write it without a copy. */
export function sha1Keep(piece: ArrayBuffer): unknown {
  const digest = sha1(piece);
  return move({ [transferableSymbol]: piece, [valueSymbol]: { digest, piece } });
}

/** This thread's one buffer for the pieces it reads itself, reused piece after piece. */
const hashBatch = filePieceHasher();

export function sha1OfFilePieces(tasks: readonly FilePieceTask[]): FilePieceResult[] {
  return hashBatch(tasks);
}
