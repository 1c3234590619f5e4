import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { corruptingReader } from "../../actors/chaos/corruptReader.js";
import { BLOCK_SIZE } from "../../actors/pieceMgr/picker.js";
import { RequestSet } from "../../actors/peer/requests.js";
import { takeReadBatch } from "../../actors/peer/upload.js";
import type { Ctx } from "../../src/runtime/index.js";

const PIECE = 1024 * 1024;
const WINDOW = 256 * 1024;

describe("takeReadBatch", () => {
  it("takes the oldest request and the ones continuing it back to back in its piece and window, leaving the rest queued in order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: PIECE / BLOCK_SIZE - 1 })), { minLength: 1, maxLength: 40 }), (reqs) => {
        const q = new RequestSet(PIECE);
        for (const [piece, block] of reqs) q.add(piece, block * BLOCK_SIZE, BLOCK_SIZE);
        const before = q.list();
        const batch = takeReadBatch(q, WINDOW);
        expect(batch[0]).toEqual(before[0]);
        // Contiguous, one piece, one window, and exactly the queue's head run.
        const head = batch[0]!;
        for (let i = 1; i < batch.length; i++) {
          expect(batch[i]).toEqual({ piece: head.piece, begin: head.begin + i * BLOCK_SIZE, length: BLOCK_SIZE });
          expect(before[i]).toEqual(batch[i]);
        }
        expect(Math.floor(head.begin / WINDOW)).toBe(Math.floor((batch.at(-1)!.begin + BLOCK_SIZE - 1) / WINDOW));
        expect(q.list()).toEqual(before.slice(batch.length));
        // It stopped for a reason: the queue ended, or the next one does not continue the run in the window.
        const next = before[batch.length];
        const end = head.begin + batch.length * BLOCK_SIZE;
        if (next !== undefined) expect(next.piece !== head.piece || next.begin !== end || end % WINDOW === 0).toBe(true);
      }),
    );
  });

  it("returns nothing from an empty queue", () => {
    expect(takeReadBatch(new RequestSet(PIECE), WINDOW)).toEqual([]);
  });
});

describe("corruptingReader over a range", () => {
  const ctx = {} as Ctx;
  const clean = Buffer.alloc(16 * BLOCK_SIZE, 0x55);
  const inner = { readBlock: (_c: Ctx, _p: number, begin: number, length: number) => Promise.resolve(clean.subarray(begin, begin + length)) };

  it("lies per block: each 16 KiB block of a range gets at most one flipped byte, on its own draw", async () => {
    const liar = corruptingReader(inner, { probability: 0.5, seed: 7 });
    let lies = 0;
    for (let round = 0; round < 20; round++) {
      const got = await liar.readBlock(ctx, 0, 0, clean.length);
      for (let b = 0; b < 16; b++) {
        const block = got.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
        const flipped = block.reduce((n, x) => n + (x === 0x55 ? 0 : 1), 0);
        expect(flipped).toBeLessThanOrEqual(1);
        lies += flipped;
      }
    }
    expect(lies).toBe(liar.lies());
    // 320 draws at 0.5: far from none and far from all.
    expect(lies).toBeGreaterThan(100);
    expect(lies).toBeLessThan(220);
    expect(clean.every((x) => x === 0x55)).toBe(true); // the inner reader's bytes are never touched
  });
});
