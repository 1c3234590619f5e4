/**
 * Isolation, end to end: in-process nodes (each its own Runtime) on their own loopback
 * addresses, real sockets, real files. An actor killed mid-transfer through the runtime
 * (a peer, a file-IO worker, the piece manager, a whole torrent_sup) costs a restart and
 * nothing else: the download completes, the bytes are right, and what was verified is
 * not fetched again. Every wait is bounded; kills are timed by the leecher's progress.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Reason, type ExitReason, type Pid } from "../../src/runtime/index.js";
import { SwarmNode } from "../../src/node.js";
import { log } from "../../src/log.js";
import { fileIoName } from "../../actors/fileIo.js";
import { names } from "../../actors/torrentState.js";
import type { Metainfo } from "../../src/protocol/types.js";
import {
  EventLog,
  KiB,
  MiB,
  havePieces,
  nodesStoppedAfterEach,
  peerPids,
  sha256File,
  singleFileTorrent,
  startSeedNode,
  suiteDir,
  torrentStateOf,
  until,
} from "../helpers/swarm.js";

log.level = "silent";

const SEED = "127.0.0.11";
const LEECH = "127.0.0.12";
const PIECE = 64 * KiB;
const SIZE = 32 * MiB;

interface Pair {
  readonly seed: SwarmNode;
  readonly leech: SwarmNode;
  readonly meta: Metainfo;
  readonly source: string;
  /** Where the leecher writes the payload. */
  readonly target: string;
  readonly events: EventLog;
}

describe("isolation: kills mid-transfer between two in-process nodes", () => {
  const root = suiteDir("isolation", async () => undefined);
  const nodes = nodesStoppedAfterEach();

  /** A seed of a fresh payload and a leecher dialling it, a tenth of the pieces had already. */
  async function pair(name: string): Promise<Pair> {
    const t = await singleFileTorrent(root(), `${name}.bin`, SIZE, PIECE);
    const seed = await startSeedNode(SEED, [t]);
    nodes.push(seed);
    const leech = await SwarmNode.start({ host: LEECH, label: `leech-${name}` });
    nodes.push(leech);
    const events = new EventLog(leech.runtime);
    const out = join(root(), `out-${name}`);
    await leech.addTorrent({ meta: t.meta, location: { kind: "downloadDir", dir: out }, peers: [{ host: SEED, port: seed.port }] });
    await havePieces(leech, t.meta.infoHashHex, Math.ceil(t.meta.pieceCount / 10), 20_000);
    return { seed, leech, meta: t.meta, source: t.path, target: join(out, t.meta.name), events };
  }

  async function exitOf(p: Pair, pid: Pid, what: string): Promise<ExitReason> {
    const e = await p.events.next(`${what} to exit`, (ev) => ev.type === "exited" && ev.pid.id === pid.id, 5000);
    if (e.type !== "exited") throw new Error("unreachable");
    return e.reason;
  }

  async function expectSameBytes(p: Pair): Promise<void> {
    expect(await sha256File(p.target)).toBe(await sha256File(p.source));
  }

  it("a killed peer actor: the controller redials, the download completes, bytes right", async () => {
    const p = await pair("peer-kill");
    const ih = p.meta.infoHashHex;
    const [victim, ...others] = peerPids(p.leech, ih);
    expect(victim).toBeDefined();
    expect(others).toEqual([]);
    const mark = p.events.events.length;
    p.leech.runtime.exit(victim as Pid, Reason.kill);
    expect(await exitOf(p, victim as Pid, "the peer")).toEqual(Reason.killed);
    const atKill = await p.leech.stats(ih);
    expect(atKill.have, "the kill landed mid-transfer").toBeLessThan(atKill.pieces);

    const done = await p.leech.await(ih, "complete", 30_000);
    const respawned = p.events.events.slice(mark).filter((e) => e.type === "spawned" && e.behaviour === "peer");
    expect(respawned.length, "a new link was dialled").toBeGreaterThanOrEqual(1);
    expect(done.counters.peersSeen).toBe(2);
    expect(done.counters.downloaded).toBe(p.meta.length);
    expect(done.counters.hashFails).toBe(0);
    await expectSameBytes(p);
  }, 60_000);

  it("a killed file-IO worker loses no verified piece: its write is retried, nothing is fetched twice", async () => {
    const p = await pair("io-kill");
    const ih = p.meta.infoHashHex;
    const worker = fileIoName(ih, 0);
    const haveBefore = await haveOf(p.leech, ih);
    const mark = p.events.events.length;
    // Killed in the turn its state shows writes handed to the OS (FileIoState.inFlight).
    const victim = await until(
      "the file-IO worker to have writes in flight",
      async () => {
        const pid = p.leech.runtime.whereis(worker);
        const state: unknown = pid === undefined ? undefined : await p.leech.runtime.getState(pid).catch(() => undefined);
        if (pid === undefined || opsInFlight(state) === 0) return undefined;
        p.leech.runtime.exit(pid, Reason.kill);
        return pid;
      },
      10_000,
      0,
    );
    expect(await exitOf(p, victim, "the file-IO worker")).toEqual(Reason.killed);
    expect(haveBefore.length, "the kill landed mid-transfer").toBeLessThan(p.meta.pieceCount);

    const done = await p.leech.await(ih, "complete", 30_000);
    const restarts = p.events.events.slice(mark).filter((e) => e.type === "restarted");
    expect(restarts.map((e) => (e.type === "restarted" ? e.childId : "")), "io_sup restarted the worker, nothing else restarted").toEqual(["file_io/0"]);
    expect(p.leech.runtime.whereis(worker)).not.toEqual(victim);
    // Bound asserted: zero. Writes interrupted by the kill are retried (TorrentIo), so
    // not one byte is fetched twice: the seed served exactly one copy.
    expect(done.counters.downloaded).toBe(p.meta.length);
    expect(done.counters.wastedBlocks).toBe(0);
    expect(done.counters.peersSeen).toBe(1);
    expect((await p.seed.stats(ih)).counters.uploaded).toBe(p.meta.length);
    const haveAfter = new Set(await haveOf(p.leech, ih));
    expect(haveBefore.filter((i) => !haveAfter.has(i))).toEqual([]);
    await expectSameBytes(p);
  }, 60_000);

  it("a killed piece manager: rest_for_one restarts what depends on it, the download completes", async () => {
    const p = await pair("mgr-kill");
    const ih = p.meta.infoHashHex;
    const ioSup = p.leech.runtime.whereis(names.ioSup(ih));
    const mgr = p.leech.runtime.whereis(names.pieceMgr(ih));
    const ctl = p.leech.runtime.whereis(names.torrentCtl(ih));
    const peersBefore = peerPids(p.leech, ih);
    expect(mgr).toBeDefined();
    const haveBefore = await haveOf(p.leech, ih);
    const mark = p.events.events.length;
    // Killed in the turn after its state was read: the pieces it had in flight then are
    // the most that may be fetched again.
    const inFlightAtKill = piecesInFlight(await p.leech.runtime.getState(mgr as Pid));
    p.leech.runtime.exit(mgr as Pid, Reason.kill);
    expect(await exitOf(p, mgr as Pid, "the piece manager")).toEqual(Reason.killed);
    expect(haveBefore.length, "the kill landed mid-transfer").toBeLessThan(p.meta.pieceCount);

    const done = await p.leech.await(ih, "complete", 30_000);
    const restarted = p.events.events
      .slice(mark)
      .flatMap((e) => (e.type === "restarted" ? [e.childId] : []))
      .filter((id) => id !== "announcer");
    // rest_for_one: the dead child and every child after it, in order; nothing before it.
    expect(restarted).toEqual(["piece_mgr", "torrent_ctl", "peer_pool"]);
    expect(p.leech.runtime.whereis(names.ioSup(ih))).toEqual(ioSup);
    expect(p.leech.runtime.whereis(names.torrentCtl(ih))).not.toEqual(ctl);
    for (const old of peersBefore) expect(p.leech.runtime.isAlive(old)).toBe(false);

    // What was verified and written survived in TorrentState; only pieces the dead manager
    // was assembling, hashing or writing (its picker's pieces in flight) are fetched again.
    const haveAfter = new Set(await haveOf(p.leech, ih));
    expect(haveBefore.filter((i) => !haveAfter.has(i))).toEqual([]);
    expect(done.counters.downloaded).toBe(p.meta.length);
    const uploaded = (await p.seed.stats(ih)).counters.uploaded;
    expect(uploaded).toBeGreaterThanOrEqual(p.meta.length);
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(uploaded - p.meta.length, `${inFlightAtKill} pieces were in flight`).toBeLessThanOrEqual(inFlightAtKill * PIECE);
    expect(done.counters.hashFails).toBe(0);
    await expectSameBytes(p);
  }, 60_000);

  it("a killed torrent_sup takes only its torrent: the other one completes untouched, the killed one is restarted and completes", async () => {
    const a = await singleFileTorrent(root(), "sup-a.bin", SIZE / 2, PIECE);
    const b = await singleFileTorrent(root(), "sup-b.bin", SIZE / 2 + 4321, PIECE);
    const seed = await startSeedNode(SEED, [a, b]);
    nodes.push(seed);
    const leech = await SwarmNode.start({ host: LEECH, label: "leech-sup" });
    nodes.push(leech);
    const events = new EventLog(leech.runtime);
    const out = join(root(), "out-sup");
    const peers = [{ host: SEED, port: seed.port }];
    await leech.addTorrent({ meta: a.meta, location: { kind: "downloadDir", dir: out }, peers });
    await leech.addTorrent({ meta: b.meta, location: { kind: "downloadDir", dir: out }, peers });
    const [ihA, ihB] = [a.meta.infoHashHex, b.meta.infoHashHex];
    await havePieces(leech, ihA, Math.ceil(a.meta.pieceCount / 10), 20_000);
    await havePieces(leech, ihB, 1, 20_000);

    const rt = leech.runtime;
    const bTree = [names.torrentSup(ihB), names.ioSup(ihB), names.pieceMgr(ihB), names.torrentCtl(ihB), names.peerPool(ihB)].map((n) => rt.whereis(n));
    const bPeers = peerPids(leech, ihB);
    expect(bPeers.length).toBe(1);
    const supA = rt.whereis(names.torrentSup(ihA));
    expect(supA).toBeDefined();
    const mark = events.events.length;
    rt.exit(supA as Pid, Reason.kill);
    await events.next("torrent_sup A to exit", (e) => e.type === "exited" && e.pid.id === (supA as Pid).id, 5000);
    const bAtKill = await leech.stats(ihB);
    expect(bAtKill.have, "B was mid-transfer at the kill").toBeLessThan(bAtKill.pieces);

    // torrent_pool restarts A's subtree (transient child, abnormal exit).
    const outcome = await events.next(
      "torrent_pool to restart A (or give up)",
      (e) => (e.type === "restarted" && e.childId === "torrent_sup") || e.type === "escalated",
      5000,
      mark,
    );
    const failedStarts = events.events.slice(mark).flatMap((e) => (e.type === "exited" && e.behaviour === "torrent_sup" && e.pid.id !== (supA as Pid).id ? [e.reason] : []));
    expect(outcome.type, `the new torrent_sup failed to start: ${JSON.stringify(failedStarts[0])}`).toBe("restarted");
    // At the first attempt: each failed start counts against torrent_pool's intensity (10 in
    // 60 s), and past it the pool drops every torrent of the node, B included. A start fails
    // when the old subtree still holds a name (its io_sup stopping file workers that wait
    // for their writes): the restart must wait for it, not race it.
    expect.soft(failedStarts, "torrent_sup A restarted at the first attempt").toEqual([]);
    expect(outcome.type === "restarted" && outcome.pid !== undefined && outcome.pid.id !== (supA as Pid).id).toBe(true);

    const doneB = await leech.await(ihB, "complete", 30_000);
    const doneA = await leech.await(ihA, "complete", 30_000);

    // B never noticed: same supervisor, same actors, one link all along (one handshake), and
    // its peer ended only once B was complete (a redundant link between two seeds).
    expect(bTree.every((pid) => pid !== undefined)).toBe(true);
    expect([names.torrentSup(ihB), names.ioSup(ihB), names.pieceMgr(ihB), names.torrentCtl(ihB), names.peerPool(ihB)].map((n) => rt.whereis(n))).toEqual(bTree);
    expect(doneB.counters.peersSeen).toBe(1);
    for (const pid of bPeers) {
      const exit = events.events.find((e) => e.type === "exited" && e.pid.id === pid.id);
      if (exit?.type === "exited") expect(exit.reason).toMatchObject({ kind: "shutdown", detail: { why: "redundant" } });
    }
    const bRestarts = events.events.slice(mark).filter((e) => e.type === "restarted" && e.childId !== "torrent_sup");
    expect(bRestarts, "nothing restarted but A's torrent_sup").toEqual([]);
    expect(doneB.counters.downloaded).toBe(b.meta.length);

    // A: a new subtree, the new TorrentState found what was written before the kill on disk.
    expect(rt.whereis(names.torrentSup(ihA))).not.toEqual(supA);
    expect(doneA.counters.downloaded).toBeLessThan(a.meta.length);
    expect(await sha256File(join(out, a.meta.name))).toBe(await sha256File(a.path));
    expect(await sha256File(join(out, b.meta.name))).toBe(await sha256File(b.path));
  }, 60_000);
});

/** Ops a file_io worker has handed to the OS (its FileIoState.inFlight), 0 when unknown. */
function opsInFlight(state: unknown): number {
  if (typeof state !== "object" || state === null || !("inFlight" in state)) return 0;
  return state.inFlight instanceof Map ? state.inFlight.size : 0;
}

/** A piece manager's started-and-not-yet-written pieces (its PiecePicker's count); -1 when unknown. */
function piecesInFlight(state: unknown): number {
  if (typeof state !== "object" || state === null || !("picker" in state)) return -1;
  const picker = state.picker;
  if (typeof picker !== "object" || picker === null || !("piecesInFlight" in picker)) return -1;
  return typeof picker.piecesInFlight === "number" ? picker.piecesInFlight : -1;
}

/** The verified-and-written pieces (TorrentState.have). */
async function haveOf(node: SwarmNode, ih: string): Promise<number[]> {
  return [...(await torrentStateOf(node, ih)).have.indices()];
}
