/**
 * A small "torrent node" for the peer actor's tests: one Runtime with a TorrentState, a
 * piece manager writing into memory, a peer pool, and optionally a listener on 127.0.0.1.
 * A seed node reads its blocks from an in-memory Buffer.
 */
import { createHash } from "node:crypto";
import { Runtime, startChild, type Clock, type Ctx, type ExitReason, type LogSink, type Pid, type StartResult } from "../../src/runtime/index.js";
import { buildTorrent } from "../../src/protocol/metainfo.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { startPieceMgr } from "../../actors/pieceMgr.js";
import { TorrentState, names } from "../../actors/torrentState.js";
import { listenerAddress, startListener } from "../../actors/listener.js";
import type { PeerExit, PeerOptions } from "../../actors/peer.js";
import { startPeerPool } from "../../supervisors/peerPool.js";
import { makePeerId } from "../../src/peerId.js";

export function torrentOf(data: Buffer, pieceLength: number, options: { private?: boolean } = {}): Metainfo {
  const hashes: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength) hashes.push(createHash("sha1").update(data.subarray(o, o + pieceLength)).digest());
  return buildTorrent({ name: "x.bin", files: [{ path: [], length: data.length }], pieceLength, pieceHashes: Buffer.concat(hashes), ...options }).metainfo;
}

export interface PeerExitRecord {
  readonly pid: Pid;
  readonly reason: ExitReason;
}

export interface TorrentNode {
  readonly rt: Runtime;
  readonly state: TorrentState;
  readonly mgr: Pid;
  readonly pool: Pid;
  readonly peerId: Buffer;
  /** The listener's port, when the node listens. */
  readonly port: number | undefined;
  readonly listener: Pid | undefined;
  /** Pieces the piece manager wrote, by index. */
  readonly written: Map<number, Buffer>;
  /** Exits of this node's peer actors, in order. */
  readonly peerExits: PeerExitRecord[];
  /** Crash reports logged by this node's runtime. */
  readonly crashes: unknown[];
  /** Resolves when the piece manager reports the download complete. */
  readonly complete: Promise<void>;
  /** Resolves when `n` pieces were written. */
  piecesWritten(n: number): Promise<void>;
  /** Upload reads asked of this node's IO, in order (with `holdReads`: held until released). */
  readonly reads: readonly ReadAsked[];
  /** Resolves when `n` upload reads were asked. */
  readsAsked(n: number): Promise<void>;
  /** With `holdReads`: answers every read asked so far (later ones wait for the next call). */
  releaseReads(): void;
  /** With `readWindowBytes`: bytes of the read buffers handed out and not released, now and at most; reads answered. */
  readonly pinned: { readonly now: number; readonly most: number; readonly answered: number };
  /** Resolves with the next peer exit (or one already recorded past `seen`). */
  nextPeerExit(seen?: number): Promise<PeerExitRecord>;
  connect(port: number, options?: { host?: string }): Promise<StartResult>;
  stop(): void;
}

export interface NodeOptions {
  readonly meta: Metainfo;
  /** The payload: the node starts as a seed. */
  readonly seedData?: Buffer;
  readonly listen?: boolean;
  readonly peerOptions?: PeerOptions;
  readonly label: string;
  readonly handshakeTimeoutMs?: number;
  readonly maxPending?: number;
  /** Default: real time. */
  readonly clock?: Clock;
  /** Hold every upload read until `releaseReads()`, so a test can act while reads are in flight. */
  readonly holdReads?: boolean;
  /**
   * Answer each upload read with a view of a fresh buffer of this many bytes, as the
   * read-ahead does with its windows, and count the buffers handed out and not released.
   */
  readonly readWindowBytes?: number;
}

export interface ReadAsked {
  readonly piece: number;
  readonly begin: number;
  readonly length: number;
}

export async function startNode(opts: NodeOptions): Promise<TorrentNode> {
  const crashes: unknown[] = [];
  const logger: LogSink = {
    error: (obj) => void crashes.push(obj),
    warn: () => undefined,
  };
  const rt = new Runtime({ logger, label: opts.label, reportLimits: { burst: 1000, perSecond: 1000 }, ...(opts.clock === undefined ? {} : { clock: opts.clock }) });
  const meta = opts.meta;
  const ih = meta.infoHashHex;
  const state = new TorrentState(meta, [], rt.clock.now());
  state.checked = true; // this fixture has no controller: its have-set is established here
  const seed = opts.seedData;
  if (seed !== undefined) for (let i = 0; i < meta.pieceCount; i++) state.have.set(i);

  const written = new Map<number, Buffer>();
  const writtenPieces = written;
  const writeWaiters: { n: number; resolve: () => void }[] = [];
  const writer = {
    writePiece(_ctx: Ctx, piece: number, data: Buffer): Promise<void> {
      written.set(piece, Buffer.from(data)); // a disk keeps a copy: piece_mgr reuses its buffer once the write returned
      for (const w of writeWaiters.splice(0)) {
        if (written.size >= w.n) w.resolve();
        else writeWaiters.push(w);
      }
      return Promise.resolve();
    },
  };
  let done!: () => void;
  const complete = new Promise<void>((resolve) => (done = resolve));
  rt.spawn(
    (msg) => {
      if (typeof msg === "object" && msg !== null && "msg" in msg && (msg as { msg: { t?: unknown } }).msg.t === "downloadComplete") done();
    },
    { name: names.torrentCtl(ih) },
  );

  const peerExits: PeerExitRecord[] = [];
  const exitWaiters: { seen: number; resolve: (r: PeerExitRecord) => void }[] = [];
  rt.subscribe((event) => {
    if (event.type !== "exited" || event.behaviour !== "peer") return;
    peerExits.push({ pid: event.pid, reason: event.reason });
    for (const w of exitWaiters.splice(0)) {
      const rec = peerExits[w.seen];
      if (rec !== undefined) w.resolve(rec);
      else exitWaiters.push(w);
    }
  });

  const mgr = (await startPieceMgr({ state, writer }, rt)) as Pid;
  const peerId = makePeerId();
  const readBytes = (piece: number, begin: number, length: number): Promise<Buffer> => {
    if (seed !== undefined) {
      const at = piece * meta.pieceLength + begin;
      return Promise.resolve(seed.subarray(at, at + length));
    }
    const written = writtenPieces.get(piece);
    if (written === undefined) return Promise.reject(new Error(`piece ${piece} is not written`));
    return Promise.resolve(written.subarray(begin, begin + length));
  };
  const reads: ReadAsked[] = [];
  const readWaiters: { n: number; resolve: () => void }[] = [];
  let held: (() => void)[] = [];
  const pinned = { now: 0, most: 0, answered: 0 };
  const handedOut = new WeakSet<Buffer>();
  const windowBytes = opts.readWindowBytes;
  const inWindow = (bytes: Buffer): Buffer => {
    if (windowBytes === undefined) return bytes;
    const window = Buffer.allocUnsafeSlow(windowBytes); // its own memory, as a read-ahead window
    const block = window.subarray(0, bytes.copy(window));
    handedOut.add(block);
    pinned.answered++;
    pinned.now += windowBytes;
    pinned.most = Math.max(pinned.most, pinned.now);
    return block;
  };
  const io = {
    release(block: Buffer): void {
      if (windowBytes === undefined || !handedOut.delete(block)) return;
      pinned.now -= windowBytes;
      // As the read-ahead would reuse it: a block written after its release goes out wrong.
      new Uint8Array(block.buffer, 0, block.buffer.byteLength).fill(0xee);
    },
    readBlock(_ctx: Ctx, piece: number, begin: number, length: number): Promise<Buffer> {
      reads.push({ piece, begin, length });
      for (const w of readWaiters.splice(0)) {
        if (reads.length >= w.n) w.resolve();
        else readWaiters.push(w);
      }
      if (opts.holdReads !== true) return readBytes(piece, begin, length).then(inWindow);
      return new Promise<void>((resolve) => held.push(resolve)).then(() => readBytes(piece, begin, length).then(inWindow));
    },
  };
  const pool = await startPeerPool(ih, { state, io, peerId, ...(opts.peerOptions === undefined ? {} : { options: opts.peerOptions }) }, { runtime: rt });
  let listener: Pid | undefined;
  let port: number | undefined;
  if (opts.listen === true) {
    listener = await startListener({
      host: "127.0.0.1",
      port: 0,
      runtime: rt,
      ...(opts.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: opts.handshakeTimeoutMs }),
      ...(opts.maxPending === undefined ? {} : { maxPending: opts.maxPending }),
    });
    port = (await listenerAddress(rt, listener)).port;
  }
  return {
    rt,
    state,
    mgr,
    pool,
    peerId,
    port,
    listener,
    written,
    peerExits,
    crashes,
    complete,
    piecesWritten: (n) =>
      written.size >= n ? Promise.resolve() : new Promise<void>((resolve) => writeWaiters.push({ n, resolve })),
    reads,
    readsAsked: (n) => (reads.length >= n ? Promise.resolve() : new Promise<void>((resolve) => readWaiters.push({ n, resolve }))),
    pinned,
    releaseReads: () => {
      const now = held;
      held = [];
      for (const release of now) release();
    },
    nextPeerExit: (seen = peerExits.length) => {
      const rec = peerExits[seen];
      if (rec !== undefined) return Promise.resolve(rec);
      return new Promise((resolve) => exitWaiters.push({ seen, resolve }));
    },
    connect: (to, options = {}) => startChild(pool, [{ direction: "outgoing", host: options.host ?? "127.0.0.1", port: to }]),
    stop: () => {
      for (const pid of rt.pids()) rt.exit(pid, { kind: "kill" });
    },
  };
}

/** The pieces a node wrote, concatenated in order. */
export function assembled(node: TorrentNode, pieceCount: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < pieceCount; i++) {
    const piece = node.written.get(i);
    if (piece === undefined) throw new Error(`piece ${i} was not written`);
    parts.push(piece);
  }
  return Buffer.concat(parts);
}

/** The `PeerExit` inside a peer's `{shutdown, PeerExit}` exit reason, if it is one. */
export function peerExitOf(reason: ExitReason): PeerExit | undefined {
  return reason.kind === "shutdown" && typeof reason.detail === "object" && reason.detail !== null ? (reason.detail as PeerExit) : undefined;
}

/** Re-check cond once per event-loop turn until it holds (a bounded wait on events, not a sleep). */
export async function until(cond: () => boolean | Promise<boolean>, turns = 5000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await cond()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`condition not reached within ${turns} event-loop turns`);
}
