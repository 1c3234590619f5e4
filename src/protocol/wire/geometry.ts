/**
 * Index and offset checks for block-addressing messages, against the torrent's shape when
 * it is known and against fixed ceilings before that (a magnet link's peers talk before
 * the metadata arrives).
 */

import { bitfieldByteLength } from "./bitfield.js";
import { BLOCK_LENGTH, WireUsageError, type TorrentContext, type WireViolation } from "./types.js";

/**
 * The most pieces a torrent may have here (libtorrent's default ceiling, 2^21). Before the
 * metadata is known it bounds indices and the bitfield (256 KiB) a peer can make us hold.
 */
export const MAX_PIECE_COUNT = 2 ** 21;

/** A context checked once, with the last piece's size worked out. */
export interface TorrentGeometry extends TorrentContext {
  readonly lastPieceLength: number;
  readonly bitfieldLength: number;
}

export function torrentGeometry(ctx: TorrentContext): TorrentGeometry {
  const { pieceCount, pieceLength, totalLength } = ctx;
  const whole = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
  if (!whole(pieceCount) || !whole(pieceLength) || !whole(totalLength) || pieceCount > MAX_PIECE_COUNT) {
    throw new WireUsageError(`torrent context out of range: ${JSON.stringify(ctx)}`);
  }
  const lastPieceLength = totalLength - (pieceCount - 1) * pieceLength;
  if (lastPieceLength <= 0 || lastPieceLength > pieceLength) {
    throw new WireUsageError(
      `torrent context inconsistent: ${pieceCount} pieces of ${pieceLength} cannot hold ${totalLength} bytes`,
    );
  }
  return { pieceCount, pieceLength, totalLength, lastPieceLength, bitfieldLength: bitfieldByteLength(pieceCount) };
}

function pieceSize(g: TorrentGeometry, index: number): number {
  return index === g.pieceCount - 1 ? g.lastPieceLength : g.pieceLength;
}

/** `index` names a piece of the torrent (or is under the ceiling while the torrent is unknown). */
export function indexViolation(
  what: string,
  index: number,
  g: TorrentGeometry | undefined,
): WireViolation | undefined {
  const count = g === undefined ? MAX_PIECE_COUNT : g.pieceCount;
  if (index < count) return undefined;
  return { type: "violation", reason: "indexOutOfRange", detail: `${what} for piece ${index} of ${count}` };
}

/** A block reference (request, cancel, reject, piece) lies inside its piece. */
export function spanViolation(
  what: string,
  index: number,
  begin: number,
  length: number,
  g: TorrentGeometry | undefined,
): WireViolation | undefined {
  const bad = indexViolation(what, index, g);
  if (bad !== undefined || g === undefined) return bad;
  const size = pieceSize(g, index);
  if (begin + length <= size) return undefined;
  return {
    type: "violation",
    reason: "offsetOutOfRange",
    detail: `${what} piece ${index} bytes ${begin}..${begin + length} past its end ${size}`,
  };
}

/** request / cancel / reject: 0 < length <= one block, and inside the piece. */
export function requestViolation(
  what: string,
  index: number,
  begin: number,
  length: number,
  g: TorrentGeometry | undefined,
): WireViolation | undefined {
  if (length === 0) {
    return { type: "violation", reason: "emptyRequest", detail: `${what} of 0 bytes (piece ${index} begin ${begin})` };
  }
  if (length > BLOCK_LENGTH) {
    return {
      type: "violation",
      reason: "requestTooLong",
      detail: `${what} of ${length} bytes > ${BLOCK_LENGTH} (piece ${index} begin ${begin})`,
    };
  }
  return spanViolation(what, index, begin, length, g);
}
