import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  autoPieceLength,
  MAX_AUTO_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
  pieceLengthProblem,
  TARGET_MAX_PIECES,
} from "../../src/storage/pieceLength.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

describe("autoPieceLength", () => {
  it("matches the documented examples", () => {
    expect(autoPieceLength(1)).toBe(16 * KiB);
    expect(autoPieceLength(1 * MiB)).toBe(16 * KiB);
    expect(autoPieceLength(100 * MiB)).toBe(64 * KiB);
    expect(autoPieceLength(1 * GiB)).toBe(512 * KiB);
    expect(autoPieceLength(4 * GiB)).toBe(2 * MiB);
    expect(autoPieceLength(100 * GiB)).toBe(16 * MiB);
  });

  it("is the smallest power of two in range that keeps the count at or under the target", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (bytes) => {
        const length = autoPieceLength(bytes);
        expect(pieceLengthProblem(length)).toBeUndefined();
        expect(length).toBeLessThanOrEqual(MAX_AUTO_PIECE_LENGTH);
        const count = Math.ceil(bytes / length);
        if (length < MAX_AUTO_PIECE_LENGTH) expect(count).toBeLessThanOrEqual(TARGET_MAX_PIECES);
        if (length > MIN_PIECE_LENGTH) expect(Math.ceil(bytes / (length / 2))).toBeGreaterThan(TARGET_MAX_PIECES);
      }),
    );
  });
});

describe("pieceLengthProblem", () => {
  it("accepts powers of two from 16 KiB to 64 MiB", () => {
    for (let length = 16 * KiB; length <= 64 * MiB; length *= 2) expect(pieceLengthProblem(length)).toBeUndefined();
  });

  it("says what is wrong with anything else", () => {
    expect(pieceLengthProblem(8 * KiB)).toMatch(/between/);
    expect(pieceLengthProblem(128 * MiB)).toMatch(/between/);
    expect(pieceLengthProblem(48 * KiB)).toMatch(/power of two/);
    expect(pieceLengthProblem(Number.NaN)).toMatch(/integer/);
    expect(pieceLengthProblem(32_768.5)).toMatch(/integer/);
  });
});
