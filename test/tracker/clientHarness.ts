/**
 * Test rigs for the announcer: a fake HTTP tracker and a fake UDP tracker on 127.0.0.1
 * (each request recorded, answers scripted by the test), and an announcer started on its
 * own Runtime beside a stand-in torrent_ctl that records the peers it is given. Waiting is
 * event-driven: `until(pred)` resolves when a recorded event makes pred true (a real-time
 * guard only turns a hang into a failure).
 */
import http from "node:http";
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { advance, CallMsg, CastMsg, ManualClock, Reason, Runtime, settle, type Clock, type Pid } from "../../src/runtime/index.js";
import { buildTorrent } from "../../src/protocol/metainfo.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { TorrentState, names } from "../../actors/torrentState.js";
import { announcer, startAnnouncer, type AnnouncerLog, type AnnouncerOptions, type AnnouncerStatus } from "../../actors/announcer.js";
import { decodeUdpRequest, type TrackerPeer, type UdpRequestVerdict } from "../../src/protocol/tracker/index.js";

/** Events recorded in order; waiters are told on each one. */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once pred holds over the items recorded so far (checked now and on each new one). */
  until(pred: (items: readonly T[]) => boolean, what: string, guardMs = 5000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!pred(this.items)) return;
        this.waiters.delete(check);
        clearTimeout(guard);
        resolve();
      };
      const guard = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; recorded: ${this.items.length}`));
      }, guardMs);
      this.waiters.add(check);
      check();
    });
  }

  count(pred: (item: T) => boolean): number {
    return this.items.filter(pred).length;
  }
}

// ---- a torrent ----------------------------------------------------------------------------

export function torrentWith(announce: readonly (readonly string[])[], length = 40_000, pieceLength = 16_384): Metainfo {
  const data = Buffer.alloc(length, 7);
  const hashes: Buffer[] = [];
  for (let o = 0; o < length; o += pieceLength) hashes.push(createHash("sha1").update(data.subarray(o, o + pieceLength)).digest());
  return buildTorrent({ name: "t.bin", files: [{ path: [], length }], pieceLength, pieceHashes: Buffer.concat(hashes), announce }).metainfo;
}

// ---- a fake HTTP tracker ------------------------------------------------------------------

export interface HttpSeen {
  readonly path: string;
  /** Query parameters as raw bytes (percent-decoded byte by byte). */
  readonly query: Map<string, Buffer>;
  readonly at: number;
}

export type HttpScript = (seen: HttpSeen, n: number, req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface FakeHttpTracker {
  readonly port: number;
  readonly url: string;
  readonly seen: Recorder<HttpSeen>;
  script: HttpScript;
  close(): Promise<void>;
}

export function queryBytes(pathAndQuery: string): Map<string, Buffer> {
  const q = pathAndQuery.includes("?") ? pathAndQuery.slice(pathAndQuery.indexOf("?") + 1) : "";
  const out = new Map<string, Buffer>();
  for (const part of q.split("&").filter((p) => p !== "")) {
    const [k = "", v = ""] = part.split("=");
    const bytes: number[] = [];
    for (let i = 0; i < v.length; i++) {
      if (v[i] === "%") {
        bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(v.charCodeAt(i));
    }
    out.set(k, Buffer.from(bytes));
  }
  return out;
}

export async function fakeHttpTracker(script: HttpScript, port = 0, clock?: Clock): Promise<FakeHttpTracker> {
  const seen = new Recorder<HttpSeen>();
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const s: HttpSeen = { path: url.split("?")[0] ?? "/", query: queryBytes(url), at: clock?.now() ?? Date.now() };
    seen.push(s);
    tracker.script(s, seen.items.length, req, res);
  });
  server.on("connection", (sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const tracker: FakeHttpTracker = {
    port: bound,
    url: `http://127.0.0.1:${bound}/announce`,
    seen,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
  return tracker;
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const t = await fakeHttpTracker(() => undefined);
  await t.close();
  return t.port;
}

export function answer(res: http.ServerResponse, body: Buffer, status = 200): void {
  res.writeHead(status, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
}

// ---- a fake UDP tracker -------------------------------------------------------------------

export interface UdpSeen {
  readonly request: UdpRequestVerdict;
  readonly from: { address: string; port: number };
  readonly at: number;
}

export interface FakeUdpTracker {
  readonly port: number;
  readonly url: string;
  readonly seen: Recorder<UdpSeen>;
  /** Returns the datagram to send back, or undefined to stay silent. */
  script: (seen: UdpSeen, n: number) => Buffer | undefined;
  /** Resolves once the datagram was handed to the kernel. */
  send(packet: Buffer, to: { address: string; port: number }): Promise<void>;
  close(): Promise<void>;
}

export async function fakeUdpTracker(script: FakeUdpTracker["script"], clock?: Clock): Promise<FakeUdpTracker> {
  const socket = dgram.createSocket("udp4");
  const seen = new Recorder<UdpSeen>();
  socket.on("message", (packet, rinfo) => {
    const s: UdpSeen = { request: decodeUdpRequest(packet), from: { address: rinfo.address, port: rinfo.port }, at: clock?.now() ?? Date.now() };
    seen.push(s);
    const out = tracker.script(s, seen.items.length);
    if (out !== undefined) socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = socket.address().port;
  const tracker: FakeUdpTracker = {
    port,
    url: `udp://127.0.0.1:${port}/announce`,
    seen,
    script,
    send: (packet, to) => new Promise<void>((resolve) => socket.send(packet, to.port, to.address, () => resolve())),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  return tracker;
}

// ---- an announcer beside a stand-in torrent_ctl -------------------------------------------

export interface LogRecord {
  readonly level: "info" | "warn" | "debug";
  readonly msg: string;
  readonly obj: Record<string, unknown>;
}

export interface Rig {
  readonly rt: Runtime;
  readonly clock: ManualClock | undefined;
  readonly state: TorrentState;
  readonly pid: Pid | "ignore";
  readonly logs: Recorder<LogRecord>;
  /** Each addPeers cast torrent_ctl received. */
  readonly peerCasts: Recorder<readonly TrackerPeer[]>;
  readonly ctl: Pid;
  /** Answers the calls torrent_ctl is holding (the announcer's "await checked"). */
  finishCheck(): void;
  /** Calls torrent_ctl received, answered or not. */
  readonly ctlCalls: Recorder<unknown>;
  status(): Promise<AnnouncerStatus>;
  completed(): void;
  settle(): Promise<void>;
  advance(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RigOptions {
  readonly manualClock?: boolean;
  readonly options?: AnnouncerOptions;
  readonly listenPort?: number;
  /** Pieces we have at start (default none). */
  readonly have?: readonly number[];
  /** The torrent is still checking: the announcer must wait for torrent_ctl to say it is done. */
  readonly checking?: boolean;
  /** No torrent_ctl at all (its calls fail with noproc). */
  readonly noCtl?: boolean;
  /** Default 127.0.0.1. */
  readonly localAddress?: string;
}

export const inOrder = (): number => 0.999999; // the shuffle keeps each tier's order

export async function announcerRig(meta: Metainfo, ro: RigOptions = {}): Promise<Rig> {
  const clock = ro.manualClock === true ? new ManualClock(1_000_000) : undefined;
  const rt = new Runtime({ ...(clock === undefined ? {} : { clock }), logger: { error: () => undefined, warn: () => undefined } });
  const state = new TorrentState(meta, [], rt.clock.now());
  for (const p of ro.have ?? []) state.have.set(p);
  state.checked = ro.checking !== true;
  const ih = meta.infoHashHex;
  const peerCasts = new Recorder<readonly TrackerPeer[]>();
  const ctlCalls = new Recorder<unknown>();
  const held: CallMsg[] = [];
  const ctl = rt.spawn(
    (msg, ctx) => {
      if (msg instanceof CastMsg) {
        const m = msg.msg as { t?: string; peers?: readonly TrackerPeer[] };
        if (m.t === "addPeers" && m.peers !== undefined) peerCasts.push(m.peers);
      } else if (msg instanceof CallMsg) {
        held.push(msg);
        ctlCalls.push(msg.request);
      } else if (msg === "finishCheck") {
        state.checked = true;
        for (const call of held.splice(0)) ctx.replyTo(call.from, { phase: "leeching" });
      }
      return undefined;
    },
    ro.noCtl === true ? {} : { name: names.torrentCtl(ih) },
  );
  const logs = new Recorder<LogRecord>();
  const logger: AnnouncerLog = {
    info: (obj, msg) => logs.push({ level: "info", msg, obj: obj as Record<string, unknown> }),
    warn: (obj, msg) => logs.push({ level: "warn", msg, obj: obj as Record<string, unknown> }),
    debug: (obj, msg) => logs.push({ level: "debug", msg, obj: obj as Record<string, unknown> }),
  };
  const pid = await startAnnouncer(
    { state, peerId: Buffer.from("-SS0100-testtesttest"), listenPort: ro.listenPort ?? 6881, localAddress: ro.localAddress ?? "127.0.0.1", options: { random: inOrder, logger, ...ro.options } },
    rt,
  );
  return {
    rt,
    clock,
    state,
    pid,
    logs,
    peerCasts,
    ctl,
    ctlCalls,
    finishCheck: () => rt.send(ctl, "finishCheck"),
    status: () => announcer.status(rt, ih),
    completed: () => announcer.completed(rt, ih),
    settle: () => settle(rt.scheduler),
    advance: async (ms) => {
      if (clock === undefined) throw new Error("advance needs the manual clock");
      await advance(clock, ms, rt.scheduler);
    },
    stop: async () => {
      if (pid !== "ignore" && rt.isAlive(pid)) await rt.stop(pid, Reason.shutdown());
      if (rt.isAlive(ctl)) await rt.stop(ctl, Reason.shutdown());
    },
  };
}

/** Log lines of one level and message. */
export const lines = (rig: Rig, level: LogRecord["level"], msg: string): LogRecord[] => rig.logs.items.filter((l) => l.level === level && l.msg === msg);

/** Rigs and fake trackers made by one test, closed (newest first) by `close()` in afterEach. */
export class Scope {
  private readonly cleanups: (() => Promise<void>)[] = [];

  readonly rig = async (...args: Parameters<typeof announcerRig>): Promise<Rig> => this.keep(await announcerRig(...args), (r) => r.stop());
  readonly http = async (...args: Parameters<typeof fakeHttpTracker>): Promise<FakeHttpTracker> => this.keep(await fakeHttpTracker(...args), (t) => t.close());
  readonly udp = async (...args: Parameters<typeof fakeUdpTracker>): Promise<FakeUdpTracker> => this.keep(await fakeUdpTracker(...args), (t) => t.close());

  async close(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c();
  }

  private keep<T>(value: T, cleanup: (v: T) => Promise<void>): T {
    this.cleanups.push(() => cleanup(value));
    return value;
  }
}
