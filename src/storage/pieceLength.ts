/**
 * Piece length for new torrents.
 *
 * Automatic rule: the smallest power of two from 16 KiB up to 16 MiB that keeps the
 * torrent at no more than 2048 pieces, so any payload from 32 MiB to 32 GiB gets
 * 1025..2048 pieces (a .torrent of 20-40 KiB of hashes, a bitfield of <= 256 bytes).
 * Smaller payloads get 16 KiB pieces (one block each; fewer pieces), larger ones
 * 16 MiB pieces (more pieces rather than pieces too big to re-download on a hash fail).
 * Examples: 1 MiB -> 16 KiB (64 pieces); 100 MiB -> 64 KiB (1600); 1 GiB -> 512 KiB
 * (2048); 4 GiB -> 2 MiB (2048); 100 GiB -> 16 MiB (6400).
 */
export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024;
/** Largest --piece-length accepted: the pipeline holds up to ~6 pieces, so 64 MiB is ~384 MiB of RAM. */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
export const TARGET_MAX_PIECES = 2048;

export function autoPieceLength(payloadBytes: number): number {
  let length = MIN_PIECE_LENGTH;
  while (length < MAX_AUTO_PIECE_LENGTH && Math.ceil(payloadBytes / length) > TARGET_MAX_PIECES) length *= 2;
  return length;
}

/** Why `length` cannot be a piece length for a new torrent, or undefined when it can. */
export function pieceLengthProblem(length: number): string | undefined {
  if (!Number.isSafeInteger(length)) return `piece length must be an integer number of bytes, got ${length}`;
  if (length < MIN_PIECE_LENGTH || length > MAX_PIECE_LENGTH) {
    return `piece length must be between ${MIN_PIECE_LENGTH} (16 KiB) and ${MAX_PIECE_LENGTH} (64 MiB), got ${length}`;
  }
  if ((length & (length - 1)) !== 0) return `piece length must be a power of two, got ${length}`;
  return undefined;
}
