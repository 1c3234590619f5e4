/**
 * Piece <-> file arithmetic for a torrent's payload (pure, no IO).
 *
 * The payload is the concatenation of `files` in order (pad files included); piece i
 * covers payload bytes [i * pieceLength, i * pieceLength + pieceSize(i)). Guarantees:
 * - the spans of a range tile it exactly, in payload order, each inside its file;
 * - zero-length files never appear in spans (they hold no bytes; writers create them
 *   from the file list, see `zeroLengthFiles`);
 * - pad files (BEP 47) appear as spans of kind "pad": writers skip them, readers fill
 *   zeros, nobody touches the disk for them.
 * The first file of a range is found by binary search over the files' offsets (the
 * parser precomputes them), so a lookup costs O(log files + spans) and allocates only
 * its result.
 */
import type { FileEntry, Metainfo } from "../protocol/types.js";

/** What the layout needs of a Metainfo; the creator builds one before any hash exists. */
export type PayloadLayout = Pick<Metainfo, "pieceLength" | "pieceCount" | "length" | "files">;

/** The request size of the peer wire protocol (BEP 3: 16 KiB, the de facto maximum). */
export const BLOCK_SIZE = 16 * 1024;

export interface Span {
  /** "data": bytes stored in a file; "pad": a BEP 47 pad file, zeros that never hit the disk. */
  readonly kind: "data" | "pad";
  readonly fileIndex: number;
  /** Where the span starts inside its file. */
  readonly fileOffset: number;
  /** Where the span starts inside the piece (or, for `spansOfRange`, after `base`). */
  readonly pieceOffset: number;
  readonly length: number;
}

export function pieceSize(layout: PayloadLayout, index: number): number {
  assertPieceIndex(layout, index);
  const start = index * layout.pieceLength;
  return Math.min(layout.pieceLength, layout.length - start);
}

export const blockCount = (sizeOfPiece: number): number => Math.ceil(sizeOfPiece / BLOCK_SIZE);

/** Length of block `block` of a piece of `sizeOfPiece` bytes (the last one may be shorter). */
export function blockSize(sizeOfPiece: number, block: number): number {
  const count = blockCount(sizeOfPiece);
  if (!Number.isInteger(block) || block < 0 || block >= count) {
    throw new RangeError(`block ${block} is outside a piece of ${sizeOfPiece} bytes (${count} blocks)`);
  }
  return Math.min(BLOCK_SIZE, sizeOfPiece - block * BLOCK_SIZE);
}

export function spansOfPiece(layout: PayloadLayout, index: number): Span[] {
  const size = pieceSize(layout, index);
  const start = index * layout.pieceLength;
  return spansOfRange(layout, start, size, start);
}

/**
 * The spans of `length` bytes at `begin` inside piece `piece` (a block request, BEP 3
 * `request`/`piece` messages); `pieceOffset` stays relative to the piece's start.
 */
export function spansOfBlock(layout: PayloadLayout, piece: number, begin: number, length: number): Span[] {
  const size = pieceSize(layout, piece);
  if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 || begin + length > size) {
    throw new RangeError(`range [${begin}, +${length}) is outside piece ${piece} of ${size} bytes`);
  }
  const pieceStart = piece * layout.pieceLength;
  return spansOfRange(layout, pieceStart + begin, length, pieceStart);
}

/**
 * The spans covering payload bytes [start, start + length); each span's `pieceOffset`
 * is its payload position minus `base` (default `start`: offsets into a buffer holding
 * the range).
 */
export function spansOfRange(layout: PayloadLayout, start: number, length: number, base = start): Span[] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > layout.length) {
    throw new RangeError(`range [${start}, +${length}) is outside the payload of ${layout.length} bytes`);
  }
  const spans: Span[] = [];
  const files = layout.files;
  const end = start + length;
  let position = start;
  for (let f = firstFileEndingAfter(files, start); position < end && f < files.length; f++) {
    const file = files[f] as FileEntry;
    if (file.length === 0) continue;
    const take = Math.min(end, file.offset + file.length) - position;
    spans.push({
      kind: file.pad ? "pad" : "data",
      fileIndex: f,
      fileOffset: position - file.offset,
      pieceOffset: position - base,
      length: take,
    });
    position += take;
  }
  if (position !== end) {
    throw new RangeError(`the files end at payload byte ${position}, before ${end}: the layout is inconsistent`);
  }
  return spans;
}

/** The pieces holding any byte of file `fileIndex` (empty for a zero-length file). */
export function piecesOfFile(layout: PayloadLayout, fileIndex: number): { first: number; last: number } | undefined {
  const file = layout.files[fileIndex];
  if (file === undefined) throw new RangeError(`file ${fileIndex} does not exist (${layout.files.length} files)`);
  if (file.length === 0) return undefined;
  return {
    first: Math.floor(file.offset / layout.pieceLength),
    last: Math.floor((file.offset + file.length - 1) / layout.pieceLength),
  };
}

/** Indices of the zero-length, non-pad files: no piece covers them, a writer still creates them. */
export function zeroLengthFiles(layout: PayloadLayout): number[] {
  const indices: number[] = [];
  layout.files.forEach((file, i) => {
    if (file.length === 0 && !file.pad) indices.push(i);
  });
  return indices;
}

/** Smallest index f with files[f].offset + files[f].length > position (files.length if none). */
function firstFileEndingAfter(files: readonly FileEntry[], position: number): number {
  let low = 0;
  let high = files.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const file = files[mid] as FileEntry;
    if (file.offset + file.length > position) high = mid;
    else low = mid + 1;
  }
  return low;
}

function assertPieceIndex(layout: PayloadLayout, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) {
    throw new RangeError(`piece ${index} does not exist (${layout.pieceCount} pieces)`);
  }
}
