import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { assembled, peerExitOf, startNode, torrentOf, type TorrentNode } from "./peerNode.js";

const PIECE = 64 * 1024;
const nodes: TorrentNode[] = [];

afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
});

async function node(...args: Parameters<typeof startNode>): Promise<TorrentNode> {
  const n = await startNode(...args);
  nodes.push(n);
  return n;
}

describe("peer actor: seed to leecher over loopback", () => {
  it("the leecher gets every piece and the bytes are right", async () => {
    const data = randomBytes(PIECE * 40 - 1234);
    const meta = torrentOf(data, PIECE);
    const seed = await node({ meta, seedData: data, listen: true, label: "seed" });
    const leech = await node({ meta, label: "leech" });
    await leech.connect(seed.port!);
    await leech.complete;
    expect(assembled(leech, meta.pieceCount).equals(data)).toBe(true);
    expect(leech.state.have.complete).toBe(true);
    expect(leech.state.counters.downloaded).toBe(data.length);
    // Both ends seeds: the link has nothing left to carry and closes on both sides.
    const [a, b] = await Promise.all([leech.nextPeerExit(0), seed.nextPeerExit(0)]);
    expect(peerExitOf(a.reason)?.why).toBe("redundant");
    expect(["redundant", "remoteClosed"]).toContain(peerExitOf(b.reason)?.why);
    expect(seed.state.counters.uploaded).toBe(data.length);
    expect(seed.state.counters.peersSeen).toBe(1);
    expect(leech.crashes).toEqual([]);
    expect(seed.crashes).toEqual([]);
  });
});
