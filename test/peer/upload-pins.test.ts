/**
 * The read-ahead memory one link's unsent blocks may keep alive: the pure plan, the ledger,
 * and a peer that asks for one block per window and does not read.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessage, type WireMessage } from "../../src/protocol/wire/index.js";
import { UPLOAD_PIN_BUDGET, UploadPins, uploadMemoryPlan } from "../../actors/peer/uploadPins.js";
import { OUTBOUND_HIGH_WATER } from "../../actors/peer/socketIo.js";
import { startNode, torrentOf, until, type TorrentNode } from "./peerNode.js";
import { RawPeer } from "./rawPeer.js";

const WINDOW = 256 * 1024;
const BLOCK = 16 * 1024;

describe("uploadMemoryPlan", () => {
  it("sends by reference a buffer the link pins already, whatever the budget says", () => {
    expect(uploadMemoryPlan(10 * WINDOW, 1, WINDOW, WINDOW)).toEqual({ kind: "byReference", newlyPinned: 0 });
  });

  it("pins a new buffer that fits the budget, and copies one that does not (with the evidence)", () => {
    expect(uploadMemoryPlan(3 * WINDOW, 0, WINDOW, 4 * WINDOW)).toEqual({ kind: "byReference", newlyPinned: WINDOW });
    expect(uploadMemoryPlan(3 * WINDOW + 1, 0, WINDOW, 4 * WINDOW)).toEqual({ kind: "copy", pinnedBytes: 3 * WINDOW + 1, bufferBytes: WINDOW, budget: 4 * WINDOW });
  });

  it("leaves room for in-order uploads: the unsent bytes' windows never need copying", () => {
    // OUTBOUND_HIGH_WATER of consecutive blocks, starting anywhere in a window, spans at most this many windows.
    const spanned = (OUTBOUND_HIGH_WATER / WINDOW + 1) * WINDOW;
    expect(spanned).toBeLessThanOrEqual(UPLOAD_PIN_BUDGET);
  });
});

describe("UploadPins", () => {
  it("counts each buffer once, undoes each pin once, and stays within the budget plus one buffer when the plan is followed", () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant("read" as const), buffer: fc.nat(7), offset: fc.nat(15) }),
      fc.record({ t: fc.constant("written" as const), which: fc.nat(), twice: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 6 }), (ops, budgetWindows) => {
        const buffers = Array.from({ length: 8 }, () => Buffer.allocUnsafeSlow(WINDOW));
        const pins = new UploadPins(budgetWindows * WINDOW);
        const live: { buffer: number; unpin: () => void }[] = [];
        for (const o of ops) {
          if (o.t === "read") {
            const block = (buffers[o.buffer] as Buffer).subarray(o.offset * BLOCK, (o.offset + 1) * BLOCK);
            const plan = pins.plan(block);
            if (plan.kind === "byReference") live.push({ buffer: o.buffer, unpin: pins.pin(block) });
          } else if (live.length > 0) {
            const [gone] = live.splice(o.which % live.length, 1);
            gone?.unpin();
            if (o.twice) gone?.unpin();
          }
          const distinct = new Set(live.map((l) => l.buffer)).size;
          expect(pins.pinnedBytes).toBe(distinct * WINDOW);
          expect(pins.pinnedBytes).toBeLessThanOrEqual(Math.max(pins.budget, WINDOW));
        }
      }),
    );
  });
});

const MAX_READS = 16;
const nodes: TorrentNode[] = [];
const raws: RawPeer[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
  for (const r of raws.splice(0)) r.destroy();
});

/** A seed whose peer asked for 1,000 blocks, one per window, read none and made it stall. */
async function stalledPeer(): Promise<{ node: TorrentNode; raw: RawPeer; asked: { index: number; begin: number }[]; data: Buffer }> {
  const pieces = 64;
  const data = randomBytes(pieces * WINDOW);
  const meta = torrentOf(data, WINDOW);
  // A queue long enough to outlast what the kernel's socket buffers take (several MiB on loopback).
  const node = await startNode({ meta, seedData: data, listen: true, label: "seed", readWindowBytes: WINDOW, peerOptions: { uploadQueueBound: 1024, maxReads: MAX_READS } });
  nodes.push(node);
  const raw = await RawPeer.dial(node.port!, { infoHash: meta.infoHash, torrent: { pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, totalLength: meta.length } });
  raws.push(raw);
  raw.write(encodeMessage({ type: "interested" }));
  await raw.waitType("unchoke");
  raw.socket.pause(); // read nothing from now on
  // Block b of every piece before block b + 1 of any: no two requests in a row can share a read.
  const asked: { index: number; begin: number }[] = [];
  for (let b = 0; asked.length < 1000; b++) for (let p = 0; p < pieces && asked.length < 1000; p++) asked.push({ index: p, begin: b * BLOCK });
  raw.write(Buffer.concat(asked.map((r) => encodeMessage({ type: "request", index: r.index, begin: r.begin, length: BLOCK }))));
  // Wait until our side stops reading for it: every read answered and taken, and no new
  // one asked for 50 rounds of that.
  const pid = node.rt.whereis(["peer", meta.infoHashHex, `127.0.0.1:${raw.socket.localPort}`]);
  expect(pid).toBeDefined();
  let last = -1;
  for (let rounds = 0, still = 0; still < 50; rounds++) {
    expect(rounds).toBeLessThan(20_000);
    await until(() => node.pinned.answered === node.reads.length);
    await node.rt.getState(pid!);
    if (node.reads.length === last) still++;
    else [still, last] = [0, node.reads.length];
  }
  expect(last).toBeLessThan(asked.length); // it did stall on the unread output
  return { node, raw, asked, data };
}

describe("peer actor: a peer that asks for one block per window and does not read", () => {
  it("pins at most the budget plus one window of read buffers once it stalls, and still serves every block right", async () => {
    const { node, raw, asked, data } = await stalledPeer();
    expect(node.reads.every((r) => r.length === BLOCK)).toBe(true);
    // By reference, each unsent block would pin a window: OUTBOUND_HIGH_WATER / 16 KiB of them.
    expect(node.pinned.now).toBeLessThanOrEqual(UPLOAD_PIN_BUDGET + WINDOW);
    // On the way, reads answered and not yet taken by the peer add up to MAX_READS windows.
    expect(node.pinned.most).toBeLessThanOrEqual(UPLOAD_PIN_BUDGET + WINDOW + MAX_READS * WINDOW);
    raw.socket.resume();
    // Every block checked: the fixture overwrites a window as soon as it is released.
    for (const r of asked) {
      const got = await raw.waitFor((m) => m.type === "piece" && m.index === r.index && m.begin === r.begin);
      const at = r.index * WINDOW + r.begin;
      expect(got.type === "piece" && got.block.equals(data.subarray(at, at + BLOCK))).toBe(true);
    }
    await until(() => node.pinned.now === 0);
    expect(node.peerExits).toEqual([]);
  });

  it("gives back every window it pinned when the peer goes away while stalled", async () => {
    const { node, raw } = await stalledPeer();
    expect(node.pinned.now).toBeGreaterThan(0);
    raw.destroy();
    await until(() => node.pinned.now === 0);
    await node.nextPeerExit(0);
  });
});
