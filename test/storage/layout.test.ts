import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BLOCK_SIZE,
  blockCount,
  blockSize,
  pieceSize,
  piecesOfFile,
  spansOfBlock,
  spansOfPiece,
  spansOfRange,
  zeroLengthFiles,
  type PayloadLayout,
  type Span,
} from "../../src/storage/layout.js";
import { layoutOf, type FileSpec } from "./fixtures.js";

describe("pieceSize", () => {
  const layout = layoutOf([{ length: 100 }], 32);

  it("is the piece length except for a shorter last piece", () => {
    expect([0, 1, 2, 3].map((i) => pieceSize(layout, i))).toEqual([32, 32, 32, 4]);
  });

  it("rejects pieces that do not exist", () => {
    expect(() => pieceSize(layout, 4)).toThrow(RangeError);
    expect(() => pieceSize(layout, -1)).toThrow(RangeError);
    expect(() => pieceSize(layout, 1.5)).toThrow(RangeError);
  });
});

describe("blocks", () => {
  it("counts 16 KiB blocks, the last one shorter", () => {
    expect(blockCount(BLOCK_SIZE)).toBe(1);
    expect(blockCount(BLOCK_SIZE + 1)).toBe(2);
    expect(blockSize(BLOCK_SIZE + 1, 0)).toBe(BLOCK_SIZE);
    expect(blockSize(BLOCK_SIZE + 1, 1)).toBe(1);
    expect(blockSize(1000, 0)).toBe(1000);
  });

  it("rejects blocks outside the piece", () => {
    expect(() => blockSize(BLOCK_SIZE, 1)).toThrow(RangeError);
    expect(() => blockSize(BLOCK_SIZE, -1)).toThrow(RangeError);
  });
});

describe("spansOfPiece", () => {
  it("splits a piece across several files, skipping zero-length ones", () => {
    const layout = layoutOf([{ length: 5 }, { length: 0 }, { length: 3 }, { length: 10 }], 10);
    expect(spansOfPiece(layout, 0)).toEqual([
      { kind: "data", fileIndex: 0, fileOffset: 0, pieceOffset: 0, length: 5 },
      { kind: "data", fileIndex: 2, fileOffset: 0, pieceOffset: 5, length: 3 },
      { kind: "data", fileIndex: 3, fileOffset: 0, pieceOffset: 8, length: 2 },
    ]);
    expect(spansOfPiece(layout, 1)).toEqual([{ kind: "data", fileIndex: 3, fileOffset: 2, pieceOffset: 0, length: 8 }]);
  });

  it("marks pad files", () => {
    const layout = layoutOf([{ length: 3 }, { length: 5, pad: true }, { length: 8 }], 8);
    expect(spansOfPiece(layout, 0).map((s) => s.kind)).toEqual(["data", "pad"]);
    expect(spansOfPiece(layout, 1)).toEqual([{ kind: "data", fileIndex: 2, fileOffset: 0, pieceOffset: 0, length: 8 }]);
  });

  it("handles zero-length files at the very start and end", () => {
    const layout = layoutOf([{ length: 0 }, { length: 4 }, { length: 0 }], 4);
    expect(spansOfPiece(layout, 0)).toEqual([{ kind: "data", fileIndex: 1, fileOffset: 0, pieceOffset: 0, length: 4 }]);
    expect(zeroLengthFiles(layout)).toEqual([0, 2]);
  });
});

describe("spansOfBlock", () => {
  const layout = layoutOf([{ length: 20_000 }, { length: 30_000 }], 32_768);

  it("keeps offsets relative to the piece", () => {
    expect(spansOfBlock(layout, 0, BLOCK_SIZE, BLOCK_SIZE)).toEqual([
      { kind: "data", fileIndex: 0, fileOffset: BLOCK_SIZE, pieceOffset: BLOCK_SIZE, length: 20_000 - BLOCK_SIZE },
      { kind: "data", fileIndex: 1, fileOffset: 0, pieceOffset: 20_000, length: 2 * BLOCK_SIZE - 20_000 },
    ]);
  });

  it("rejects ranges that leave the piece", () => {
    expect(() => spansOfBlock(layout, 1, 0, 50_000 - 32_768 + 1)).toThrow(RangeError);
    expect(() => spansOfBlock(layout, 0, -1, 1)).toThrow(RangeError);
  });
});

describe("piecesOfFile", () => {
  it("names the first and last piece touching a file", () => {
    const layout = layoutOf([{ length: 5 }, { length: 0 }, { length: 20 }], 10);
    expect(piecesOfFile(layout, 0)).toEqual({ first: 0, last: 0 });
    expect(piecesOfFile(layout, 1)).toBeUndefined();
    expect(piecesOfFile(layout, 2)).toEqual({ first: 0, last: 2 });
  });
});

const fileSpecs = fc.array(
  fc.record({ length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })), pad: fc.boolean() }),
  { minLength: 1, maxLength: 12 },
);
const payloads = fc
  .tuple(fileSpecs, fc.integer({ min: 1, max: 4096 }))
  .filter(([specs]) => specs.some((s) => s.length > 0))
  .map(([specs, pieceLength]: [FileSpec[], number]) => layoutOf(specs, pieceLength));

/** Every (file, offset) byte the spans cover, in payload order. */
function coveredBytes(layout: PayloadLayout, spans: readonly Span[]): number[] {
  const positions: number[] = [];
  for (const span of spans) {
    const file = layout.files[span.fileIndex];
    if (file === undefined) throw new Error(`span names file ${span.fileIndex}`);
    for (let i = 0; i < span.length; i++) positions.push(file.offset + span.fileOffset + i);
  }
  return positions;
}

describe("layout properties", () => {
  it("the spans of all pieces tile the payload exactly, in order, each inside its file", () => {
    fc.assert(
      fc.property(payloads, (layout) => {
        // Plain checks collected into one list: an expect() per span would dominate the run time.
        const problems: string[] = [];
        let expected = 0;
        for (let piece = 0; piece < layout.pieceCount; piece++) {
          let inPiece = 0;
          for (const span of spansOfPiece(layout, piece)) {
            const file = layout.files[span.fileIndex];
            const where = `piece ${piece} file ${span.fileIndex}`;
            if (file === undefined) {
              problems.push(`${where}: no such file`);
              continue;
            }
            if (span.length <= 0) problems.push(`${where}: empty span`);
            if (span.kind !== (file.pad ? "pad" : "data")) problems.push(`${where}: kind ${span.kind}`);
            if (span.pieceOffset !== inPiece) problems.push(`${where}: pieceOffset ${span.pieceOffset} != ${inPiece}`);
            if (file.offset + span.fileOffset !== expected) problems.push(`${where}: starts at ${file.offset + span.fileOffset} != ${expected}`);
            if (span.fileOffset < 0 || span.fileOffset + span.length > file.length) problems.push(`${where}: leaves its file`);
            inPiece += span.length;
            expected += span.length;
          }
          if (inPiece !== pieceSize(layout, piece)) problems.push(`piece ${piece}: spans cover ${inPiece} bytes`);
        }
        if (expected !== layout.length) problems.push(`pieces cover ${expected} of ${layout.length} bytes`);
        expect(problems).toEqual([]);
      }),
    );
  });

  it("a byte range maps to the same bytes as the pieces it lies in", () => {
    const rangeCases = payloads.chain((layout) =>
      fc
        .tuple(fc.nat(layout.length), fc.nat(layout.length))
        .map(([a, b]) => ({ layout, start: Math.min(a, b), length: Math.abs(a - b) })),
    );
    fc.assert(
      fc.property(rangeCases, ({ layout, start, length }) => {
        const spans = spansOfRange(layout, start, length);
        const covered = coveredBytes(layout, spans);
        expect(covered).toEqual(Array.from({ length }, (_, i) => start + i));
        let inRange = 0;
        for (const span of spans) {
          expect(span.pieceOffset).toBe(inRange);
          inRange += span.length;
        }
      }),
    );
  });

  it("a block inside a piece covers the same bytes as that slice of the piece's spans", () => {
    const blockCases = payloads.chain((layout) =>
      fc.nat(layout.pieceCount - 1).chain((piece) => {
        const size = pieceSize(layout, piece);
        return fc
          .tuple(fc.nat(size), fc.nat(size))
          .map(([a, b]) => ({ layout, piece, begin: Math.min(a, b), length: Math.abs(a - b) }));
      }),
    );
    fc.assert(
      fc.property(blockCases, ({ layout, piece, begin, length }) => {
        const pieceBytes = coveredBytes(layout, spansOfPiece(layout, piece));
        const spans = spansOfBlock(layout, piece, begin, length);
        expect(coveredBytes(layout, spans)).toEqual(pieceBytes.slice(begin, begin + length));
        if (spans[0] !== undefined) expect(spans[0].pieceOffset).toBe(begin);
      }),
    );
  });

  it("block sizes add up to the piece size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 22 }), (size) => {
        let sum = 0;
        for (let b = 0; b < blockCount(size); b++) sum += blockSize(size, b);
        expect(sum).toBe(size);
      }),
    );
  });
});
