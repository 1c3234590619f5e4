/**
 * The analyzer/executor convention on a small example: a block arrives for a piece; the pure
 * analyzer says what it means (with evidence), the executor does it, exhaustively.
 */
import { describe, expect, it } from "vitest";
import { assertNever, match } from "../../src/runtime/index.js";

interface PieceState {
  readonly blocksPerPiece: number;
  readonly received: ReadonlyMap<number, ReadonlySet<number>>;
  readonly requested: ReadonlySet<string>;
}

type BlockVerdict =
  | { readonly kind: "duplicate"; readonly piece: number; readonly block: number }
  | { readonly kind: "stored"; readonly piece: number; readonly remaining: number }
  | { readonly kind: "pieceComplete"; readonly piece: number }
  | { readonly kind: "unrequested"; readonly piece: number; readonly block: number };

function analyzeBlock(state: PieceState, piece: number, block: number): BlockVerdict {
  if (!state.requested.has(`${piece}:${block}`)) return { kind: "unrequested", piece, block };
  const have = state.received.get(piece) ?? new Set<number>();
  if (have.has(block)) return { kind: "duplicate", piece, block };
  const remaining = state.blocksPerPiece - have.size - 1;
  return remaining === 0 ? { kind: "pieceComplete", piece } : { kind: "stored", piece, remaining };
}

function executeBlock(verdict: BlockVerdict, effects: string[]): void {
  switch (verdict.kind) {
    case "duplicate":
      effects.push(`drop duplicate ${verdict.piece}/${verdict.block}`);
      return;
    case "stored":
      effects.push(`store, ${verdict.remaining} to go`);
      return;
    case "pieceComplete":
      effects.push(`hash piece ${verdict.piece}`);
      return;
    case "unrequested":
      effects.push(`penalise peer for ${verdict.piece}/${verdict.block}`);
      return;
    default:
      assertNever(verdict, "block verdict");
  }
}

describe("analyzer / executor", () => {
  const state: PieceState = {
    blocksPerPiece: 3,
    received: new Map([[0, new Set([0, 1])]]),
    requested: new Set(["0:1", "0:2", "1:0"]),
  };

  it("the analyzer returns a verdict with its evidence; the executor switches on it exhaustively", () => {
    const effects: string[] = [];
    for (const [piece, block] of [
      [0, 2],
      [0, 1],
      [1, 0],
      [5, 5],
    ] as const) {
      executeBlock(analyzeBlock(state, piece, block), effects);
    }
    expect(effects).toEqual(["hash piece 0", "drop duplicate 0/1", "store, 2 to go", "penalise peer for 5/5"]);
  });

  it("match is the expression form, one typed handler per kind", () => {
    const describeVerdict = (v: BlockVerdict): string =>
      match(v, {
        duplicate: (d) => `dup ${d.block}`,
        stored: (s) => `stored (${s.remaining} left)`,
        pieceComplete: (c) => `piece ${c.piece} complete`,
        unrequested: (u) => `unrequested ${u.piece}`,
      });
    expect(describeVerdict(analyzeBlock(state, 0, 2))).toBe("piece 0 complete");
    expect(describeVerdict(analyzeBlock(state, 1, 0))).toBe("stored (2 left)");
  });

  it("assertNever throws on a value the types said could not exist", () => {
    expect(() => assertNever({ kind: "bogus" } as never, "block verdict")).toThrow(/unhandled block verdict/);
    expect(() => match({ kind: "bogus" } as never as BlockVerdict, {} as never)).toThrow(TypeError);
  });
});
