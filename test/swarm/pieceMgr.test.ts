import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CastMsg, Reason, Runtime, settle, type Ctx, type Pid } from "../../src/runtime/index.js";
import { buildTorrent } from "../../src/protocol/metainfo.js";
import { Bitfield } from "../../src/protocol/wire/bitfield.js";
import { pieceMgr, startPieceMgr, type PeerNotice, type PieceWriter } from "../../actors/pieceMgr.js";
import { TorrentState, names } from "../../actors/torrentState.js";
import type { BlockRequest } from "../../actors/pieceMgr/picker.js";

const PIECE = 32 * 1024; // two blocks a piece

function torrentOf(data: Buffer) {
  const hashes: Buffer[] = [];
  for (let o = 0; o < data.length; o += PIECE) hashes.push(createHash("sha1").update(data.subarray(o, o + PIECE)).digest());
  return buildTorrent({ name: "x.bin", files: [{ path: [], length: data.length }], pieceLength: PIECE, pieceHashes: Buffer.concat(hashes) }).metainfo;
}

/** A disk that holds pieces in memory and lets the test decide when a write returns. */
class HeldWriter implements PieceWriter {
  readonly written = new Map<number, Buffer>();
  readonly pending: { piece: number; release: () => void }[] = [];
  hold = false;
  writePiece(_ctx: Ctx, piece: number, data: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        this.written.set(piece, Buffer.from(data));
        resolve();
      };
      if (this.hold) this.pending.push({ piece, release });
      else release();
    });
  }
}

/** A stand-in peer actor: runs the functions the test sends it, records what the piece manager tells it. */
function probe(rt: Runtime, addr: string) {
  const notices: PeerNotice[] = [];
  const pid = rt.spawn((msg, ctx) => {
    if (typeof msg === "function") return (msg as (c: Ctx) => unknown)(ctx);
    notices.push(msg as PeerNotice);
    return undefined;
  });
  const run = <T>(fn: (ctx: Ctx) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => rt.send(pid, (ctx: Ctx) => Promise.resolve(fn(ctx)).then(resolve, reject)));
  rt.join(names.peers(ih), pid);
  return { pid, addr, notices, run };
}

let ih = "";

async function setup(data: Buffer, maxPiecesInFlight?: number) {
  const rt = new Runtime({ reportLimits: { burst: 1000, perSecond: 1000 } });
  const meta = torrentOf(data);
  ih = meta.infoHashHex;
  const state = new TorrentState(meta, ["/nonexistent"], 0);
  state.checked = true; // as after the controller's start-up check
  const writer = new HeldWriter();
  const ctlSeen: unknown[] = [];
  rt.spawn((msg) => void ctlSeen.push(msg), { name: names.torrentCtl(ih) });
  const mgr = (await startPieceMgr({ state, writer, random: () => 0, ...(maxPiecesInFlight === undefined ? {} : { maxPiecesInFlight }) }, rt)) as Pid;
  return { rt, meta, state, writer, mgr, ctlSeen };
}

async function fetchAll(peer: ReturnType<typeof probe>, mgr: Pid, data: Buffer, corrupt = false, max = 1000): Promise<BlockRequest[]> {
  const reqs = await peer.run((ctx) => pieceMgr.pick(ctx, mgr, peer.addr, max));
  await peer.run((ctx) => {
    for (const r of reqs) {
      const block = Buffer.from(data.subarray(r.piece * PIECE + r.begin, r.piece * PIECE + r.begin + r.length));
      if (corrupt) block[0] = block[0]! ^ 0xff;
      pieceMgr.block(ctx, mgr, peer.addr, r.piece, r.begin, block);
    }
  });
  return reqs;
}

describe("piece manager", () => {
  it("marks a piece have only after its write returned, then tells every peer", async () => {
    const data = randomBytes(PIECE * 3 - 100);
    const { rt, state, writer, mgr, ctlSeen } = await setup(data);
    writer.hold = true;
    const a = probe(rt, "127.0.0.2:6881");
    await a.run((ctx) => {
      pieceMgr.peerJoined(ctx, mgr, a.addr);
      pieceMgr.peerPieces(ctx, mgr, a.addr, Bitfield.full(3));
    });
    await fetchAll(a, mgr, data);
    await settle(rt.scheduler);
    expect(writer.pending).toHaveLength(3); // hashed, written out, not yet returned
    expect(state.have.count).toBe(0);
    expect(a.notices.filter((n) => n.type === "weHave")).toHaveLength(0);

    for (const p of writer.pending.splice(0)) p.release();
    await settle(rt.scheduler);
    expect(state.have.count).toBe(3);
    expect(a.notices.filter((n) => n.type === "weHave").map((n) => n.type === "weHave" && n.index).sort()).toEqual([0, 1, 2]);
    expect(Buffer.concat([0, 1, 2].map((i) => writer.written.get(i)!))).toEqual(data);
    expect(state.counters.downloaded).toBe(data.length);
    expect(ctlSeen).toEqual([new CastMsg({ t: "downloadComplete" })]);
    rt.exit(mgr, Reason.kill);
  });

  it("gives a dead peer's blocks to the others at once", async () => {
    const data = randomBytes(PIECE * 2);
    const { rt, mgr } = await setup(data);
    const a = probe(rt, "127.0.0.2:1");
    const b = probe(rt, "127.0.0.3:1");
    for (const p of [a, b]) {
      await p.run((ctx) => {
        pieceMgr.peerJoined(ctx, mgr, p.addr);
        pieceMgr.peerPieces(ctx, mgr, p.addr, Bitfield.full(2));
      });
    }
    const got = await a.run((ctx) => pieceMgr.pick(ctx, mgr, a.addr, 100));
    expect(got).toHaveLength(4);
    expect(await b.run((ctx) => pieceMgr.pick(ctx, mgr, b.addr, 100))).toHaveLength(4); // endgame doubles
    rt.exit(a.pid, Reason.kill);
    await settle(rt.scheduler);
    expect(b.notices.some((n) => n.type === "moreBlocks")).toBe(true);
    rt.exit(mgr, Reason.kill);
  });

  it("fetches a corrupt piece again and bans the liar after two bad pieces, never the honest peer", async () => {
    const data = randomBytes(PIECE * 2);
    const { rt, state, mgr } = await setup(data);
    const liar = probe(rt, "127.0.0.66:1");
    const honest = probe(rt, "127.0.0.7:1");
    for (const p of [liar, honest]) {
      await p.run((ctx) => {
        pieceMgr.peerJoined(ctx, mgr, p.addr);
        pieceMgr.peerPieces(ctx, mgr, p.addr, Bitfield.full(2));
      });
    }
    await fetchAll(liar, mgr, data, true);
    await settle(rt.scheduler);
    expect(state.counters.hashFails).toBe(2);
    expect(state.have.count).toBe(0);
    await fetchAll(honest, mgr, data);
    await settle(rt.scheduler);
    expect(state.have.count).toBe(2);
    expect(state.banned).toEqual(new Set(["127.0.0.66"]));
    expect(liar.notices).toContainEqual({ type: "banned", strikes: 2 });
    expect(honest.notices.some((n) => n.type === "banned")).toBe(false);
    rt.exit(mgr, Reason.kill);
  });

  it("a restarted piece manager keeps what was verified and written", async () => {
    const data = randomBytes(PIECE * 2);
    const { rt, state, writer, mgr } = await setup(data);
    const a = probe(rt, "127.0.0.2:1");
    await a.run((ctx) => {
      pieceMgr.peerJoined(ctx, mgr, a.addr);
      pieceMgr.peerPieces(ctx, mgr, a.addr, Bitfield.full(2));
    });
    const reqs = await a.run((ctx) => pieceMgr.pick(ctx, mgr, a.addr, 2)); // piece 0 only
    await a.run((ctx) => {
      for (const r of reqs) pieceMgr.block(ctx, mgr, a.addr, r.piece, r.begin, Buffer.from(data.subarray(r.piece * PIECE + r.begin, r.piece * PIECE + r.begin + r.length)));
    });
    await settle(rt.scheduler);
    expect(state.have.count).toBe(1);
    await rt.stop(mgr, Reason.kill);
    const again = (await startPieceMgr({ state, writer }, rt)) as Pid;
    await a.run((ctx) => {
      pieceMgr.peerJoined(ctx, again, a.addr);
      pieceMgr.peerPieces(ctx, again, a.addr, Bitfield.full(2));
    });
    const next = await a.run((ctx) => pieceMgr.pick(ctx, again, a.addr, 10));
    expect(new Set(next.map((r) => r.piece))).toEqual(new Set([1 - reqs[0]!.piece]));
    rt.exit(again, Reason.kill);
  });

  it("wakes a peer whose pick came back empty at the cap once a piece is written", async () => {
    const data = randomBytes(PIECE * 4);
    const { rt, state, writer, mgr } = await setup(data, 1);
    writer.hold = true;
    const a = probe(rt, "127.0.0.2:1");
    await a.run((ctx) => {
      pieceMgr.peerJoined(ctx, mgr, a.addr);
      pieceMgr.peerPieces(ctx, mgr, a.addr, Bitfield.full(4));
    });
    await fetchAll(a, mgr, data); // the one piece allowed in flight, now being written
    expect(await a.run((ctx) => pieceMgr.pick(ctx, mgr, a.addr, 10))).toEqual([]); // at the cap
    await settle(rt.scheduler);
    expect(a.notices.filter((n) => n.type === "moreBlocks")).toHaveLength(0);
    writer.pending.splice(0).forEach((p) => p.release());
    await settle(rt.scheduler);
    expect(state.have.count).toBe(1);
    expect(a.notices.filter((n) => n.type === "moreBlocks")).toHaveLength(1);
    rt.exit(mgr, Reason.kill);
  });

  it("hands out no block before the start-up check, then wakes the peers that asked", async () => {
    const data = randomBytes(PIECE * 2);
    const { rt, state, mgr } = await setup(data);
    state.checked = false;
    const a = probe(rt, "127.0.0.2:1");
    await a.run((ctx) => {
      pieceMgr.peerJoined(ctx, mgr, a.addr);
      pieceMgr.peerPieces(ctx, mgr, a.addr, Bitfield.full(2));
    });
    expect(await a.run((ctx) => pieceMgr.pick(ctx, mgr, a.addr, 10))).toEqual([]);
    state.have.set(0); // the check found piece 0 on disk
    state.checked = true;
    rt.cast(mgr, { t: "resync" });
    await settle(rt.scheduler);
    expect(a.notices.filter((n) => n.type === "moreBlocks")).toHaveLength(1);
    const next = await a.run((ctx) => pieceMgr.pick(ctx, mgr, a.addr, 10));
    expect(next.length).toBeGreaterThan(0);
    expect(next.every((r) => r.piece === 1)).toBe(true);
    rt.exit(mgr, Reason.kill);
  });
});
