import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BLOCK_SIZE, PiecePicker, type BlockRequest, type PieceSet } from "../../actors/pieceMgr/picker.js";

const all: PieceSet = { has: () => true };
const only = (...pieces: number[]): PieceSet => ({ has: (i) => pieces.includes(i) });

function picker(pieceCount: number, pieceLength = 2 * BLOCK_SIZE, extra: Partial<{ maxPiecesInFlight: number; totalLength: number }> = {}) {
  return new PiecePicker({
    pieceCount,
    pieceLength,
    totalLength: extra.totalLength ?? pieceCount * pieceLength,
    maxPiecesInFlight: extra.maxPiecesInFlight ?? 64,
    random: () => 0.5,
  });
}

describe("PiecePicker", () => {
  it("starts the rarest piece first", () => {
    const p = picker(3);
    p.peerJoined("a", all);
    p.peerJoined("b", only(0, 2));
    p.peerJoined("c", only(0));
    // availability: 0 -> 3, 1 -> 1, 2 -> 2; "a" has all, so its first piece is 1.
    expect(p.pick("a", 1)).toEqual([{ piece: 1, begin: 0, length: BLOCK_SIZE }]);
  });

  it("a peer finishes the piece it started before starting another", () => {
    const p = picker(4);
    p.peerJoined("a", all);
    const [first] = p.pick("a", 1);
    expect(p.pick("a", 1)).toEqual([{ piece: first!.piece, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
  });

  it("a piece another peer is fetching is joined only when no new piece can be started", () => {
    const p = picker(4, 2 * BLOCK_SIZE, { maxPiecesInFlight: 2 });
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    const [first] = p.pick("a", 1);
    const [second] = p.pick("b", 1);
    expect(second!.piece).not.toBe(first!.piece);
    // The cap (2 pieces in flight) is reached: "c" shares "a"'s piece, then "b"'s.
    p.peerJoined("c", all);
    expect(p.pick("c", 2)).toEqual([
      { piece: first!.piece, begin: BLOCK_SIZE, length: BLOCK_SIZE },
      { piece: second!.piece, begin: BLOCK_SIZE, length: BLOCK_SIZE },
    ]);
  });

  it("a started piece nobody is fetching any more is finished before a new one is started", () => {
    const p = picker(4);
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    const [first] = p.pick("a", 1);
    p.onBlock("a", first!.piece, first!.begin, first!.length);
    p.peerGone("a");
    expect(p.pick("b", 1)).toEqual([{ piece: first!.piece, begin: BLOCK_SIZE, length: BLOCK_SIZE }]);
  });

  it("gives the last piece its short length and block", () => {
    const p = picker(2, 2 * BLOCK_SIZE, { totalLength: 2 * BLOCK_SIZE + 100 });
    p.peerJoined("a", only(1));
    expect(p.pick("a", 5)).toEqual([{ piece: 1, begin: 0, length: 100 }]);
  });

  it("reports stored, then pieceComplete with contributors", () => {
    const p = picker(1);
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    const [r1] = p.pick("a", 1);
    const [r2] = p.pick("b", 1);
    expect(p.onBlock("a", r1!.piece, r1!.begin, r1!.length)).toMatchObject({ kind: "stored", remaining: 1, cancelFrom: [] });
    const done = p.onBlock("b", r2!.piece, r2!.begin, r2!.length);
    expect(done).toMatchObject({ kind: "pieceComplete", piece: 0 });
    expect(done.kind === "pieceComplete" && [...done.contributors].sort()).toEqual(["a", "b"]);
  });

  it("names an unrequested block and a wrong length as unrequested", () => {
    const p = picker(2);
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    const [r] = p.pick("a", 1);
    expect(p.onBlock("b", r!.piece, r!.begin, r!.length)).toMatchObject({ kind: "unrequested", from: "b" });
    expect(p.onBlock("a", r!.piece, r!.begin, r!.length - 1)).toMatchObject({ kind: "unrequested" });
    expect(p.onBlock("a", 1, 0, BLOCK_SIZE)).toMatchObject({ kind: "unrequested" });
  });

  it("caps the pieces in flight", () => {
    const p = picker(10, BLOCK_SIZE, { maxPiecesInFlight: 3 });
    p.peerJoined("a", all);
    expect(p.pick("a", 100)).toHaveLength(3);
    expect(p.piecesInFlight).toBe(3);
  });

  it("returns a dead peer's blocks at once", () => {
    const p = picker(1);
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    expect(p.pick("a", 2)).toHaveLength(2);
    expect(p.pick("b", 2)).toHaveLength(2); // endgame: doubles
    expect(p.peerGone("a")).toBe(2);
    expect(p.reservedBy("b")).toBe(2);
    p.peerJoined("c", all);
    expect(p.pick("c", 2)).toHaveLength(2); // endgame again, from b's holdings
  });

  it("frees a choking peer's requests for others", () => {
    const p = picker(1);
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    p.pick("a", 2);
    expect(p.peerChoked("a")).toBe(2);
    expect(p.inEndgame()).toBe(false);
    expect(p.pick("b", 2)).toHaveLength(2);
  });

  it("in endgame, the first arrival cancels the other holders", () => {
    const p = picker(1);
    p.peerJoined("a", all);
    p.peerJoined("b", all);
    const reqs = p.pick("a", 2);
    expect(p.inEndgame()).toBe(true);
    expect(p.pick("b", 2)).toEqual(reqs);
    const v = p.onBlock("b", 0, 0, BLOCK_SIZE);
    expect(v).toMatchObject({ kind: "stored", cancelFrom: ["a"] });
    expect(p.onBlock("a", 0, 0, BLOCK_SIZE)).toMatchObject({ kind: "duplicate" });
    expect(p.reservedBy("a")).toBe(1);
  });

  it("starts a failed piece over and names its senders", () => {
    const p = picker(1);
    p.peerJoined("a", all);
    for (const r of p.pick("a", 2)) p.onBlock("a", r.piece, r.begin, r.length);
    expect(p.pieceFailed(0)).toEqual(["a", "a"]);
    expect(p.hasPiece(0)).toBe(false);
    expect(p.pick("a", 2)).toHaveLength(2);
  });

  it("never picks a piece we have, and says what is wanted from a peer", () => {
    const p = picker(2);
    p.markHave(0);
    p.peerJoined("a", all);
    expect(p.wantedFrom("a")).toBe(1);
    expect(p.pick("a", 10).every((r) => r.piece === 1)).toBe(true);
    p.pieceDone(1);
    expect(p.wantedFrom("a")).toBeUndefined();
    expect(p.isComplete).toBe(true);
  });

  it("counts availability from HAVE and a late bitfield", () => {
    const p = picker(3);
    p.peerJoined("a", only());
    p.peerHave("a", 2);
    p.peerJoined("b", all);
    expect(p.pick("b", 1)[0]!.piece).toBe(0); // pieces 0 and 1 are rarer than 2; tie broken by random
    p.peerBitfield("a", only(0, 1));
    // now 2 is the rarest piece for b
    expect(p.pick("b", 100).some((r) => r.piece === 2)).toBe(true);
  });

  it("rejects inconsistent geometry", () => {
    expect(() => new PiecePicker({ pieceCount: 2, pieceLength: 10, totalLength: 30, maxPiecesInFlight: 1 })).toThrow(RangeError);
  });
});

/**
 * Random swarms: peers with random piece sets join, pick, deliver, choke, leave; pieces
 * fail their hash at random. Whatever the schedule, the invariants hold, and when every
 * piece is held by some live honest peer, the download completes.
 */
describe("PiecePicker properties", () => {
  const op = fc.oneof(
    fc.record({ t: fc.constant("pick" as const), peer: fc.nat(4), max: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ t: fc.constant("deliver" as const), peer: fc.nat(4), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ t: fc.constant("gone" as const), peer: fc.nat(4) }),
    fc.record({ t: fc.constant("choke" as const), peer: fc.nat(4) }),
    fc.record({ t: fc.constant("fail" as const) }),
  );

  it("keeps reservations consistent and completes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), { minLength: 5, maxLength: 5 }),
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (pieceCount, blocksPerPiece, maxInFlight, sets, ops, seed) => {
          let s = seed;
          const random = () => ((s = (s * 48271) % 2147483647) / 2147483647);
          const totalLength = pieceCount * blocksPerPiece * BLOCK_SIZE - 7;
          const p = new PiecePicker({ pieceCount, pieceLength: blocksPerPiece * BLOCK_SIZE, totalLength, maxPiecesInFlight: maxInFlight, random });
          const outstanding = new Map<string, BlockRequest[]>();
          const join = (i: number) => {
            const key = `p${i}`;
            p.peerJoined(key, { has: (x) => sets[i]![x] === true || i === 0 });
            outstanding.set(key, []);
          };
          for (let i = 0; i < 5; i++) join(i);

          const deliver = (key: string, n: number) => {
            const q = outstanding.get(key)!;
            for (const r of q.splice(0, n)) {
              const v = p.onBlock(key, r.piece, r.begin, r.length);
              for (const c of v.kind === "stored" || v.kind === "pieceComplete" ? v.cancelFrom : []) {
                const cq = outstanding.get(c)!;
                outstanding.set(c, cq.filter((x) => x.piece !== r.piece || x.begin !== r.begin));
              }
              if (v.kind === "pieceComplete") p.pieceDone(v.piece);
            }
          };

          for (const o of ops) {
            const key = `p${"peer" in o ? o.peer : 0}`;
            switch (o.t) {
              case "pick": {
                const endgame = p.inEndgame();
                const held = new Set([...outstanding.values()].flat().map((r) => `${r.piece}:${r.begin}`));
                const got = p.pick(key, o.max);
                // Outside endgame a pick hands out only blocks nobody holds.
                if (!endgame) for (const r of got) expect(held.has(`${r.piece}:${r.begin}`)).toBe(false);
                outstanding.get(key)!.push(...got);
                break;
              }
              case "deliver":
                deliver(key, o.n);
                break;
              case "gone":
                if (key === "p0") break; // keep one seed so completion is possible
                expect(p.peerGone(key)).toBe(outstanding.get(key)!.length);
                join(Number(key.slice(1)));
                break;
              case "choke":
                expect(p.peerChoked(key)).toBe(outstanding.get(key)!.length);
                outstanding.set(key, []);
                break;
              case "fail": {
                const started = [...Array(pieceCount).keys()].find((i) => !p.hasPiece(i));
                if (started !== undefined) {
                  p.pieceFailed(started);
                  for (const [k, q] of outstanding) outstanding.set(k, q.filter((r) => r.piece !== started));
                }
                break;
              }
            }
            // Invariants after every step.
            expect(p.piecesInFlight).toBeLessThanOrEqual(maxInFlight);
            for (const [k, q] of outstanding) expect(p.reservedBy(k)).toBe(q.length);
            for (const q of outstanding.values()) expect(new Set(q.map((r) => `${r.piece}:${r.begin}`)).size).toBe(q.length);
          }

          // Drain: the seed p0 alone must finish the download in a bounded number of rounds.
          for (const k of outstanding.keys()) if (k !== "p0") { p.peerChoked(k); outstanding.set(k, []); }
          for (let round = 0; round < pieceCount * blocksPerPiece + 2 && !p.isComplete; round++) {
            outstanding.get("p0")!.push(...p.pick("p0", 4));
            deliver("p0", 4);
          }
          expect(p.isComplete).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
