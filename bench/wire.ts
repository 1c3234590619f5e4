/**
 * Peer-wire decoder throughput: 1 GiB (by default) of piece messages with 16 KiB blocks,
 * pushed in 64 KiB chunks (what a Node socket delivers) and drained after each push, the
 * way a peer actor reads. The chunks come from a 16 MiB ring built once, so the figure
 * is the decoder's, not the generator's; frames straddle chunk edges as on a real socket
 * (16,397-byte frames never line up with 64 KiB), so both the in-place and the copying
 * path are measured.
 *
 *   npm run build && node dist/bench/wire.js [chunkKiB=64] [GiB=1] [rounds=3]
 *
 * Prints one line per round, then a JSON summary line.
 */

import {
  BLOCK_LENGTH,
  encodePieceHeader,
  WireDecoder,
  type TorrentContext,
} from "../src/protocol/wire/index.js";

const chunkBytes = Number(process.argv[2] ?? 64) * 1024;
const totalBytes = Number(process.argv[3] ?? 1) * 2 ** 30;
const rounds = Number(process.argv[4] ?? 3);

const PIECE_LENGTH = 256 * 1024;
const CONTEXT: TorrentContext = {
  pieceCount: Math.ceil(totalBytes / PIECE_LENGTH),
  pieceLength: PIECE_LENGTH,
  totalLength: Math.ceil(totalBytes / PIECE_LENGTH) * PIECE_LENGTH,
};
const RING_MESSAGES = 1024;

function buildRing(): Buffer[] {
  const block = Buffer.alloc(BLOCK_LENGTH, 0x5a);
  const frames: Buffer[] = [];
  const blocksPerPiece = PIECE_LENGTH / BLOCK_LENGTH;
  for (let i = 0; i < RING_MESSAGES; i++) {
    const index = Math.floor(i / blocksPerPiece) % CONTEXT.pieceCount;
    frames.push(encodePieceHeader(index, (i % blocksPerPiece) * BLOCK_LENGTH, BLOCK_LENGTH), block);
  }
  const stream = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkBytes) chunks.push(stream.subarray(at, at + chunkBytes));
  return chunks;
}

interface Round {
  readonly seconds: number;
  readonly wireBytes: number;
  readonly messages: number;
  readonly copied: number;
}

function round(ring: readonly Buffer[], bytes: number): Round {
  const decoder = new WireDecoder({ features: { fast: true, extended: true }, context: CONTEXT });
  let wireBytes = 0;
  let messages = 0;
  let copied = 0;
  let checksum = 0;
  const start = process.hrtime.bigint();
  while (wireBytes < bytes) {
    for (const chunk of ring) {
      decoder.push(chunk);
      for (let ev = decoder.next(); ev !== undefined; ev = decoder.next()) {
        if (ev.type !== "piece") throw new Error(`bench: unexpected ${ev.type}`);
        messages++;
        checksum += ev.block[ev.block.length - 1] ?? 0;
        if (ev.block.buffer !== chunk.buffer) copied++;
      }
      wireBytes += chunk.length;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (checksum !== messages * 0x5a) throw new Error("bench: blocks came out wrong");
  return { seconds, wireBytes, messages, copied };
}

const MiB = 2 ** 20;
const ring = buildRing();
round(ring, 64 * MiB); // warm up the JIT on the same shapes
const results: Round[] = [];
for (let r = 0; r < rounds; r++) {
  const res = round(ring, totalBytes);
  results.push(res);
  process.stdout.write(
    `round ${r + 1}: ${(res.wireBytes / MiB).toFixed(0)} MiB in ${res.seconds.toFixed(3)} s = ` +
      `${(res.wireBytes / MiB / res.seconds).toFixed(0)} MiB/s, ${(res.messages / res.seconds / 1e3).toFixed(0)}k msgs/s, ` +
      `${((100 * res.copied) / res.messages).toFixed(1)}% of blocks assembled across chunks\n`,
  );
}
const rates = results.map((r) => r.wireBytes / MiB / r.seconds).sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)] ?? 0;
process.stdout.write(
  `${JSON.stringify({
    bench: "wire-decode",
    chunkKiB: chunkBytes / 1024,
    GiB: totalBytes / 2 ** 30,
    medianMiBps: Math.round(median),
    minMiBps: Math.round(rates[0] ?? 0),
    maxMiBps: Math.round(rates[rates.length - 1] ?? 0),
    node: process.version,
  })}\n`,
);
