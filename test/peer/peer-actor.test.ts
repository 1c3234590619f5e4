import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Reason, type Pid } from "../../src/runtime/index.js";
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
    expect(leech.state.counters.wastedBlocks).toBe(0);
    // Both ends seeds: the link has nothing left to carry and closes on both sides.
    const [a, b] = await Promise.all([leech.nextPeerExit(0), seed.nextPeerExit(0)]);
    expect(peerExitOf(a.reason)?.why).toBe("redundant");
    expect(["redundant", "remoteClosed"]).toContain(peerExitOf(b.reason)?.why);
    expect(seed.state.counters.uploaded).toBe(data.length);
    expect(seed.state.counters.peersSeen).toBe(1);
    expect(leech.state.counters.peersSeen).toBe(1);
    expect(leech.crashes).toEqual([]);
    expect(seed.crashes).toEqual([]);
  });

  it("a peer killed mid-transfer does not stop the download: a new link finishes it", async () => {
    const data = randomBytes(PIECE * 160);
    const meta = torrentOf(data, PIECE);
    const seed = await node({ meta, seedData: data, listen: true, label: "seed" });
    const leech = await node({ meta, label: "leech" });
    const first = (await leech.connect(seed.port!)) as Pid;
    await leech.piecesWritten(20);
    leech.rt.exit(first, Reason.kill);
    const killed = await leech.nextPeerExit(0);
    expect(killed.reason).toEqual(Reason.killed);
    expect(leech.state.have.complete).toBe(false);
    // The seed's side of the link sees its socket close and ends orderly.
    expect(peerExitOf((await seed.nextPeerExit(0)).reason)?.why).toMatch(/remoteClosed|socketError/);

    await leech.connect(seed.port!); // the name of the dead link is free again
    await leech.complete;
    expect(assembled(leech, meta.pieceCount).equals(data)).toBe(true);
    expect(seed.crashes).toEqual([]);
  });

  it("with two seeds, killing one link mid-transfer leaves the other to finish", async () => {
    const data = randomBytes(PIECE * 160);
    const meta = torrentOf(data, PIECE);
    const seedA = await node({ meta, seedData: data, listen: true, label: "seedA" });
    const seedB = await node({ meta, seedData: data, listen: true, label: "seedB" });
    const leech = await node({ meta, label: "leech" });
    const a = (await leech.connect(seedA.port!)) as Pid;
    await leech.connect(seedB.port!);
    await leech.piecesWritten(10);
    leech.rt.exit(a, Reason.kill);
    await leech.complete;
    expect(assembled(leech, meta.pieceCount).equals(data)).toBe(true);
    expect(leech.peerExits[0]?.reason).toEqual(Reason.killed);
    expect(seedB.state.counters.uploaded).toBeGreaterThan(0);
  });
});

describe("peer actor: a chain seed -> A -> B", () => {
  it("B, linked to A only, gets every piece through A's HAVEs and uploads", async () => {
    const data = randomBytes(PIECE * 48);
    const meta = torrentOf(data, PIECE);
    const seed = await node({ meta, seedData: data, listen: true, label: "seed" });
    const a = await node({ meta, listen: true, label: "A" });
    const b = await node({ meta, label: "B" });
    await b.connect(a.port!); // A has nothing yet: B waits for A's HAVEs
    await a.connect(seed.port!);
    await Promise.all([a.complete, b.complete]);
    expect(assembled(b, meta.pieceCount).equals(data)).toBe(true);
    expect(a.state.counters.uploaded).toBe(data.length);
    expect(seed.state.counters.uploaded).toBe(data.length);
    for (const n of [seed, a, b]) expect(n.crashes).toEqual([]);
  });
});

describe("peer actor: links it refuses", () => {
  it("a node that dials itself refuses its own peer id on both ends", async () => {
    const data = randomBytes(PIECE * 2);
    const meta = torrentOf(data, PIECE);
    const n = await node({ meta, seedData: data, listen: true, label: "self" });
    await n.connect(n.port!);
    const exits = (await Promise.all([n.nextPeerExit(0), n.nextPeerExit(1)])).map((e) => peerExitOf(e.reason));
    // The end that judges first refuses; the other sees the socket close.
    expect(exits).toContainEqual(expect.objectContaining({ why: "handshakeRefused", detail: expect.stringMatching(/^self/) }));
    for (const e of exits) expect(["handshakeRefused", "remoteClosed"]).toContain(e?.why);
    expect(n.state.counters.peersSeen).toBe(0);
    expect(n.crashes).toEqual([]);
  });

  it("a second link to the same address is refused at start", async () => {
    const data = randomBytes(PIECE * 2);
    const meta = torrentOf(data, PIECE);
    const seed = await node({ meta, seedData: data, listen: true, label: "seed" });
    const other = await node({ meta, seedData: data, label: "other" });
    const first = await other.connect(seed.port!);
    const second = other.connect(seed.port!);
    const error = (await second.then(() => undefined, (e: unknown) => e)) as { code?: string; reason?: { error?: { reason?: { kind?: string; pid?: Pid } } } };
    expect(error.code).toBe("start_failed");
    expect(error.reason?.error?.reason?.kind).toBe("already_started");
    expect(error.reason?.error?.reason?.pid === first).toBe(true);
    expect(other.rt.isAlive(first as Pid)).toBe(true);
  });

  it("a torrent with no piece manager ends the link as pieceMgrDown, not as a crash", async () => {
    const data = randomBytes(PIECE * 2);
    const meta = torrentOf(data, PIECE);
    const seed = await node({ meta, seedData: data, listen: true, label: "seed" });
    const leech = await node({ meta, label: "leech" });
    leech.rt.exit(leech.mgr, Reason.kill);
    await leech.connect(seed.port!);
    expect(peerExitOf((await leech.nextPeerExit(0)).reason)?.why).toBe("pieceMgrDown");
    expect(leech.crashes).toEqual([]);
  });
});

