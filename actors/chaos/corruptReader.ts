/**
 * Chaos: a node that lies. Wraps the BlockReader its peers serve uploads from, so a share of
 * the blocks it sends carry a flipped byte. Used by tests and the swarm's `corrupt:` chaos to
 * check that honest nodes fetch those pieces again and ban the liar (smart ban in pieceMgr).
 * Seeded, so a run can be replayed.
 */
import type { Ctx } from "../../src/runtime/index.js";
import type { BlockReader } from "../peer.js";
import { BLOCK_SIZE } from "../pieceMgr/picker.js";

export interface CorruptSpec {
  /** Share of served blocks that get one byte flipped, 0..1. */
  readonly probability: number;
  readonly seed: number;
}

/** A small deterministic generator (mulberry32): same seed, same lies. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function corruptingReader(inner: BlockReader, spec: CorruptSpec): BlockReader & { readonly lies: () => number } {
  if (!(spec.probability >= 0 && spec.probability <= 1)) throw new RangeError(`corrupt probability must be in [0, 1], got ${spec.probability}`);
  const random = seededRandom(spec.seed);
  let lies = 0;
  return {
    lies: () => lies,
    // A lie is a copy of ours, nobody else's to take back; honest bytes go back to the inner reader.
    release: (block: Buffer) => inner.release?.(block),
    async readBlock(ctx: Ctx, piece: number, begin: number, length: number): Promise<Buffer> {
      const data = await inner.readBlock(ctx, piece, begin, length);
      // Peers read several blocks at once: each 16 KiB block of the range lies on its own draw.
      let bad: Buffer | undefined;
      for (let from = 0; from < data.length; from += BLOCK_SIZE) {
        if (random() >= spec.probability) continue;
        // A copy: the inner reader's buffer may be shared with other readers.
        if (bad === undefined) {
          bad = Buffer.from(data);
          inner.release?.(data);
        }
        const at = from + Math.floor(random() * Math.min(BLOCK_SIZE, data.length - from));
        bad[at] = bad[at]! ^ 0xff;
        lies++;
      }
      return bad ?? data;
    },
  };
}
