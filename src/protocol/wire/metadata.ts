/**
 * BEP 9 (ut_metadata): the message codec and the assembly of the info dictionary from its
 * 16 KiB pieces. Pure code: payloads here are what follows the BEP 10 extended id byte.
 *
 * Guarantees:
 * - `parseMetadataMessage` never throws, whatever the bytes: bad input is a `bad` result
 *   whose detail names the field. Its bencode work is bounded (small depth and item budget).
 * - A parsed `data` message is internally consistent: its total size is within
 *   MAX_METADATA_BYTES, its piece exists for that size and its bytes have exactly that
 *   piece's length. A request or reject carries nothing after its dictionary.
 * - The encoders write only what the parser accepts; anything else is a WireUsageError.
 * - A `MetadataAssembly` allocates its buffer once (totalSize bytes, at most
 *   MAX_METADATA_BYTES) and hands out `complete` only for bytes whose SHA-1 is the info-hash.
 */

import { createHash } from "node:crypto";
import { decodePrefix, encode, type BencodeDict, type BencodeEncodable, type DecodedDocument } from "../bencode.js";
import { BencodeError } from "../errors.js";
import { WireUsageError } from "./types.js";

export const METADATA_PIECE_BYTES = 16 * 1024;

/**
 * The largest metadata we fetch or accept. The size comes from an untrusted peer and the
 * assembly allocates it up front, so it is a per-torrent memory ceiling. libtorrent's
 * default (`max_metadata_size`) is 30 MiB (3 * 1024 * 10240; checked on 2.0.8); we take
 * less, so one peer's claim pins at most 8 MiB per torrent. That still holds the SHA-1s of
 * ~400,000 pieces (100 GiB in 256 KiB pieces, 1.6 TiB in 4 MiB pieces) with room for a
 * file list; larger metadata needs the .torrent file.
 */
export const MAX_METADATA_BYTES = 8 * 1024 * 1024;

/**
 * The payload is one flat dict; nesting exists only inside unknown keys, which we ignore,
 * so a shallow limit costs nothing legitimate. The item budget bounds work on a dict full
 * of junk keys (a frame is at most 64 KiB anyway).
 */
const MAX_DEPTH = 4;
const MAX_TOKENS = 1024;

const MSG_REQUEST = 0;
const MSG_DATA = 1;
const MSG_REJECT = 2;

export type MetadataMessage =
  | { readonly type: "request"; readonly piece: number }
  /** `data` is a slice of the payload, not a copy. */
  | { readonly type: "data"; readonly piece: number; readonly totalSize: number; readonly data: Buffer }
  | { readonly type: "reject"; readonly piece: number };

export type MetadataParse =
  | { readonly type: "ok"; readonly message: MetadataMessage }
  /** A msg_type BEP 9 does not define: receivers must ignore it (room for future types). */
  | { readonly type: "unknown"; readonly msgType: number }
  | { readonly type: "bad"; readonly detail: string };

function bad(detail: string): MetadataParse {
  return { type: "bad", detail: `ut_metadata: ${detail}` };
}

function isPieceIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isTotalSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_METADATA_BYTES;
}

/** Pieces in metadata of `totalSize` bytes; throws WireUsageError unless it is a positive safe integer. */
export function metadataPieceCount(totalSize: number): number {
  if (!Number.isSafeInteger(totalSize) || totalSize < 1) throw new WireUsageError(`metadata total size ${totalSize} is not a positive integer`);
  return Math.ceil(totalSize / METADATA_PIECE_BYTES);
}

/** Bytes in `piece` of metadata of `totalSize` bytes (16 KiB but for the last); throws WireUsageError if the piece does not exist. */
export function metadataPieceLength(totalSize: number, piece: number): number {
  const count = metadataPieceCount(totalSize);
  if (!isPieceIndex(piece) || piece >= count) throw new WireUsageError(`metadata piece ${piece} does not exist (${count} pieces of ${totalSize} bytes)`);
  return piece === count - 1 ? totalSize - piece * METADATA_PIECE_BYTES : METADATA_PIECE_BYTES;
}

/** A present integer value, or why not. */
function integerField(dict: BencodeDict, key: string): number | string {
  const v = dict.get(key);
  if (v === undefined) return `${key} is missing`;
  if (typeof v !== "number") return `${key} is not an integer`;
  return v;
}

export function parseMetadataMessage(payload: Buffer): MetadataParse {
  let doc: DecodedDocument;
  try {
    doc = decodePrefix(payload, { maxDepth: MAX_DEPTH, maxTokens: MAX_TOKENS });
  } catch (e) {
    if (e instanceof BencodeError) return bad(e.message);
    throw e;
  }
  const root = doc.value;
  if (!(root instanceof Map)) return bad("message is not a bencoded dictionary");
  const msgType = integerField(root, "msg_type");
  if (typeof msgType === "string") return bad(msgType);
  // BEP 9: an unknown type must be ignored, whatever else its dictionary holds.
  if (msgType !== MSG_REQUEST && msgType !== MSG_DATA && msgType !== MSG_REJECT) return { type: "unknown", msgType };
  const piece = integerField(root, "piece");
  if (typeof piece === "string") return bad(piece);
  if (!isPieceIndex(piece)) return bad(`piece ${piece} is negative`);
  const trailing = payload.length - doc.end;

  if (msgType !== MSG_DATA) {
    const type = msgType === MSG_REQUEST ? "request" : "reject";
    if (trailing !== 0) return bad(`${type} for piece ${piece} has ${trailing} bytes after its dictionary`);
    return { type: "ok", message: { type, piece } };
  }
  const totalSize = integerField(root, "total_size");
  if (typeof totalSize === "string") return bad(totalSize);
  if (!isTotalSize(totalSize)) return bad(`total_size ${totalSize} is not in 1..${MAX_METADATA_BYTES}`);
  const count = metadataPieceCount(totalSize);
  if (piece >= count) return bad(`piece ${piece} is out of range: total_size ${totalSize} has ${count} pieces`);
  const expected = metadataPieceLength(totalSize, piece);
  if (trailing !== expected) return bad(`data for piece ${piece} is ${trailing} bytes, expected ${expected} (total_size ${totalSize})`);
  return { type: "ok", message: { type: "data", piece, totalSize, data: payload.subarray(doc.end) } };
}

function checkPiece(piece: number): void {
  if (!isPieceIndex(piece)) throw new WireUsageError(`metadata piece ${piece} is not a non-negative integer`);
}

function header(msgType: number, piece: number, totalSize?: number): Buffer {
  const dict = new Map<string, BencodeEncodable>([
    ["msg_type", msgType],
    ["piece", piece],
  ]);
  if (totalSize !== undefined) dict.set("total_size", totalSize);
  return encode(dict);
}

export function encodeMetadataRequest(piece: number): Buffer {
  checkPiece(piece);
  return header(MSG_REQUEST, piece);
}

export function encodeMetadataReject(piece: number): Buffer {
  checkPiece(piece);
  return header(MSG_REJECT, piece);
}

/** The dictionary and the piece's bytes in one Buffer; `data` must be exactly that piece. */
export function encodeMetadataData(piece: number, totalSize: number, data: Uint8Array): Buffer {
  if (!isTotalSize(totalSize)) throw new WireUsageError(`metadata total size ${totalSize} is not in 1..${MAX_METADATA_BYTES}`);
  const expected = metadataPieceLength(totalSize, piece);
  if (data.length !== expected) throw new WireUsageError(`metadata piece ${piece} is ${data.length} bytes, expected ${expected}`);
  const dict = header(MSG_DATA, piece, totalSize);
  const out = Buffer.allocUnsafe(dict.length + data.length);
  dict.copy(out, 0);
  out.set(data, dict.length);
  return out;
}

export type MetadataAdd =
  | { readonly kind: "stored"; readonly missing: number }
  | { readonly kind: "duplicate"; readonly piece: number }
  /** SHA-1(infoBytes) equals the info-hash. */
  | { readonly kind: "complete"; readonly infoBytes: Buffer }
  /** Hex digests. The assembly is reset: every piece is missing again. */
  | { readonly kind: "hashMismatch"; readonly expected: string; readonly actual: string }
  /** A total size other than the assembly's, a piece out of range, or a wrong length; nothing stored. */
  | { readonly kind: "inconsistent"; readonly detail: string };

/**
 * Collects the pieces of one torrent's metadata and checks the SHA-1 against the info-hash
 * once all are in. Memory bounded by totalSize (<= MAX_METADATA_BYTES), allocated once.
 * After `complete`, `infoBytes` is the assembly's own buffer (handed over, not copied) and
 * every further add is a `duplicate`, so nothing writes to it again.
 */
export class MetadataAssembly {
  readonly totalSize: number;
  readonly pieceCount: number;
  private readonly infoHash: Buffer;
  private readonly bytes: Buffer;
  private readonly received: Uint8Array;
  private receivedCount = 0;

  /** Throws RangeError if totalSize is not in 1..MAX_METADATA_BYTES or the info-hash is not 20 bytes. */
  constructor(infoHash: Buffer, totalSize: number) {
    if (!isTotalSize(totalSize)) throw new RangeError(`metadata total size ${totalSize} is not in 1..${MAX_METADATA_BYTES}`);
    if (infoHash.length !== 20) throw new RangeError(`info-hash is ${infoHash.length} bytes, expected 20 (SHA-1)`);
    this.infoHash = Buffer.from(infoHash);
    this.totalSize = totalSize;
    this.pieceCount = metadataPieceCount(totalSize);
    this.bytes = Buffer.alloc(totalSize);
    this.received = new Uint8Array(this.pieceCount);
  }

  /** Pieces not received yet, ascending. */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.pieceCount; i++) if (this.received[i] === 0) out.push(i);
    return out;
  }

  add(piece: number, totalSize: number, data: Buffer): MetadataAdd {
    if (totalSize !== this.totalSize) {
      return { kind: "inconsistent", detail: `total_size ${totalSize} differs from this metadata's ${this.totalSize}` };
    }
    if (!isPieceIndex(piece) || piece >= this.pieceCount) {
      return { kind: "inconsistent", detail: `piece ${piece} is out of range (${this.pieceCount} pieces)` };
    }
    const expected = metadataPieceLength(this.totalSize, piece);
    if (data.length !== expected) {
      return { kind: "inconsistent", detail: `piece ${piece} is ${data.length} bytes, expected ${expected}` };
    }
    if (this.received[piece] !== 0) return { kind: "duplicate", piece };

    data.copy(this.bytes, piece * METADATA_PIECE_BYTES);
    this.received[piece] = 1;
    this.receivedCount++;
    if (this.receivedCount < this.pieceCount) return { kind: "stored", missing: this.pieceCount - this.receivedCount };

    const actual = createHash("sha1").update(this.bytes).digest();
    if (actual.equals(this.infoHash)) return { kind: "complete", infoBytes: this.bytes };
    this.received.fill(0);
    this.receivedCount = 0;
    return { kind: "hashMismatch", expected: this.infoHash.toString("hex"), actual: actual.toString("hex") };
  }
}
