/**
 * listener: the acceptor. Owns a TCP server bound to one host:port, reads the handshake of
 * each incoming connection, and hands the socket to the peer_pool of the torrent it names.
 *
 * What it guarantees:
 * - A flood of connections cannot grow memory: at most `maxPending` connections wait for
 *   their handshake (one more is closed at once); each waits at most
 *   `handshakeTimeoutMs`; and each holds at most the 68 handshake bytes plus one socket
 *   read buffer, because the socket is read in paused mode, exactly up to the handshake's
 *   end (what follows stays in the socket for the peer, in order).
 * - Garbage is refused at its first wrong byte (the handshake parser checks the protocol
 *   string as it arrives); an unknown info-hash is refused once its 48 bytes are in.
 * - Hand-over: the socket is released (no longer ours), paused, guarded by an error
 *   listener, and given to startChild(pool, [{direction: "incoming", ...}]); the peer
 *   adopts it in its init. If the start fails (pool gone, duplicate address), the socket
 *   is destroyed here. The listener never waits for a start: it keeps accepting.
 * - Every socket callback is a mailbox message; the server and the pending sockets are
 *   adopted, so they close when the listener exits.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  defineServer,
  noreply,
  reply,
  startChild,
  startServer,
  stop,
  Reason,
  type Ctx,
  type From,
  type Name,
  type Pid,
  type Runtime,
  type StartResult,
  type TimerRef,
} from "../src/runtime/index.js";
import { HANDSHAKE_LENGTH, HandshakeParser, type Handshake } from "../src/protocol/wire/index.js";
import { log } from "../src/log.js";
import { names } from "./torrentState.js";
import type { IncomingConnection } from "./peer.js";
import { handOffGuard } from "./peer/socketIo.js";

export interface ListenerOptions {
  /** Only this address is bound (e.g. "127.0.0.1", or a node's own 127.x.y.z in swarm mode). */
  readonly host: string;
  /** 0 picks a free port; `listenerAddress` tells which. */
  readonly port: number;
  /** Connections waiting for their handshake at once (default 256). */
  readonly maxPending?: number;
  /** Per connection (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Registered name (default "listener"). */
  readonly name?: Name;
  /** Only when started from outside any actor with a runtime other than the default. */
  readonly runtime?: Runtime;
}

export interface ListenerStats {
  readonly accepted: number;
  readonly pending: number;
  readonly handedOver: number;
  /** Closed because maxPending connections were already waiting. */
  readonly refusedBusy: number;
  readonly garbage: number;
  readonly unknownTorrent: number;
  readonly timedOut: number;
  /** Closed by the remote end before its handshake was complete. */
  readonly closedEarly: number;
  /** The peer pool refused the connection (e.g. a second link to the same address). */
  readonly startFailed: number;
}

type Counters = { -readonly [K in keyof ListenerStats]: ListenerStats[K] };

interface Pending {
  readonly socket: Socket;
  readonly parser: HandshakeParser;
  readonly timer: TimerRef;
  readonly onReadable: () => void;
  readonly onGone: () => void;
}

interface ListenerState {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  readonly maxPending: number;
  readonly timeoutMs: number;
  readonly pending: Map<number, Pending>;
  nextId: number;
  readonly counters: Counters;
}

type Info =
  | { readonly t: "accepted"; readonly socket: Socket }
  | { readonly t: "readable"; readonly id: number }
  | { readonly t: "gone"; readonly id: number }
  | { readonly t: "handshakeTimeout"; readonly id: number }
  | { readonly t: "started"; readonly socket: Socket; readonly result: StartResult | StartFailed }
  | { readonly t: "serverError"; readonly error: Error };

type Call = { readonly t: "address" } | { readonly t: "stats" };

class StartFailed {
  constructor(readonly error: unknown) {}
}

interface InitArgs {
  readonly host: string;
  readonly port: number;
  readonly maxPending: number;
  readonly timeoutMs: number;
}

export const listenerBehaviour = defineServer<ListenerState, InitArgs, Call, never, Info>({
  name: "listener",

  async init(args, ctx) {
    const server = ctx.adopt(createServer({ noDelay: true }));
    server.on("connection", ctx.relay((socket: Socket): Info => ({ t: "accepted", socket })));
    server.on("error", ctx.relay((error: Error): Info => ({ t: "serverError", error })));
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
      server.listen({ host: args.host, port: args.port });
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : args.port;
    log.info({ host: args.host, port }, "listening for peers");
    return {
      kind: "ok" as const,
      state: {
        server,
        host: args.host,
        port,
        maxPending: args.maxPending,
        timeoutMs: args.timeoutMs,
        pending: new Map(),
        nextId: 0,
        counters: { accepted: 0, pending: 0, handedOver: 0, refusedBusy: 0, garbage: 0, unknownTorrent: 0, timedOut: 0, closedEarly: 0, startFailed: 0 },
      },
    };
  },

  handleCall(req: Call, _from: From, s) {
    switch (req.t) {
      case "address":
        return reply({ host: s.host, port: s.port }, s);
      case "stats":
        return reply({ ...s.counters, pending: s.pending.size } satisfies ListenerStats, s);
      default: {
        const unreachable: never = req;
        throw new Error(`listener: unexpected call ${JSON.stringify(unreachable)}`);
      }
    }
  },

  handleInfo(msg, s, ctx) {
    switch (msg.t) {
      case "accepted":
        accept(s, ctx, msg.socket);
        break;
      case "readable":
        readHandshake(s, ctx, msg.id);
        break;
      case "gone":
        if (s.pending.has(msg.id)) {
          s.counters.closedEarly++;
          drop(s, ctx, msg.id);
        }
        break;
      case "handshakeTimeout":
        if (s.pending.has(msg.id)) {
          s.counters.timedOut++;
          drop(s, ctx, msg.id);
        }
        break;
      case "started":
        if (msg.result instanceof StartFailed || msg.result === "ignore") {
          s.counters.startFailed++;
          msg.socket.destroy();
        } else {
          s.counters.handedOver++;
        }
        break;
      case "serverError":
        return stop(Reason.error(msg.error), s);
      default: {
        const unreachable: never = msg;
        throw new Error(`listener: unexpected message ${JSON.stringify(unreachable)}`);
      }
    }
    return noreply(s);
  },
});

function accept(s: ListenerState, ctx: Ctx, socket: Socket): void {
  s.counters.accepted++;
  if (s.pending.size >= s.maxPending) {
    s.counters.refusedBusy++;
    socket.destroy();
    return;
  }
  const id = s.nextId++;
  ctx.adopt(socket);
  const onReadable = ctx.relay((): Info => ({ t: "readable", id }));
  const onGone = ctx.relay((): Info => ({ t: "gone", id }));
  // 'readable' puts the socket in paused mode: we read exactly the handshake's bytes.
  socket.on("readable", onReadable);
  socket.on("close", onGone);
  socket.on("error", onGone);
  const timer = ctx.sendAfter(s.timeoutMs, { t: "handshakeTimeout", id } satisfies Info);
  s.pending.set(id, { socket, parser: new HandshakeParser(), timer, onReadable, onGone });
}

function readHandshake(s: ListenerState, ctx: Ctx, id: number): void {
  const p = s.pending.get(id);
  if (p === undefined) return;
  const socket = p.socket;
  let received = 0;
  // Bounded: each read takes at least one byte of the 68 (the parser holds the rest).
  for (let guard = 0; guard <= HANDSHAKE_LENGTH; guard++) {
    const available = Math.min(socket.readableLength, HANDSHAKE_LENGTH - received);
    if (available <= 0) return;
    const chunk = socket.read(available) as Buffer | null;
    if (chunk === null) return;
    const step = p.parser.push(chunk);
    switch (step.type) {
      case "needMore":
        received = step.received;
        continue;
      case "violation":
        s.counters.garbage++;
        drop(s, ctx, id);
        return;
      case "handshake":
        route(s, ctx, id, step.handshake, step.rest);
        return;
      default: {
        const unreachable: never = step;
        throw new Error(`listener: handshake step ${JSON.stringify(unreachable)}`);
      }
    }
  }
}

function route(s: ListenerState, ctx: Ctx, id: number, handshake: Handshake, rest: Buffer): void {
  const ih = handshake.infoHash.toString("hex");
  const pool = ctx.runtime.whereis(names.peerPool(ih));
  if (pool === undefined) {
    s.counters.unknownTorrent++;
    drop(s, ctx, id);
    return;
  }
  const socket = release(s, ctx, id);
  if (socket === undefined) return;
  handOver(ctx, pool, { direction: "incoming", socket, handshake, rest });
}

function handOver(ctx: Ctx, pool: Pid, conn: IncomingConnection): void {
  const socket = conn.socket;
  socket.on("error", handOffGuard);
  socket.pause();
  const started = startChild(pool, [conn]).then(
    (result) => result,
    (error: unknown) => new StartFailed(error),
  );
  ctx.pipe(started, (result): Info => ({ t: "started", socket, result }));
}

/** Stop watching a pending connection and let go of its socket (not closed). */
function release(s: ListenerState, ctx: Ctx, id: number): Socket | undefined {
  const p = s.pending.get(id);
  if (p === undefined) return undefined;
  s.pending.delete(id);
  ctx.cancelTimer(p.timer);
  const socket = p.socket;
  socket.off("readable", p.onReadable);
  socket.off("close", p.onGone);
  socket.off("error", p.onGone);
  ctx.release(socket);
  return socket;
}

function drop(s: ListenerState, ctx: Ctx, id: number): void {
  const socket = release(s, ctx, id);
  if (socket === undefined) return;
  socket.on("error", handOffGuard); // a late error on a destroyed socket must not throw
  socket.destroy();
}

/** Start the listener (linked to the caller: listener_sup); resolves once it is listening. */
export function startListener(options: ListenerOptions): Promise<Pid> {
  const maxPending = options.maxPending ?? 256;
  const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
  if (typeof options.host !== "string" || options.host.length === 0) return Promise.reject(new RangeError("startListener: host is required"));
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    return Promise.reject(new RangeError(`startListener: port must be 0..65535, got ${options.port}`));
  }
  if (!Number.isInteger(maxPending) || maxPending < 1) return Promise.reject(new RangeError(`startListener: maxPending must be >= 1, got ${maxPending}`));
  if (!(timeoutMs > 0)) return Promise.reject(new RangeError(`startListener: handshakeTimeoutMs must be > 0, got ${timeoutMs}`));
  const args: InitArgs = { host: options.host, port: options.port, maxPending, timeoutMs };
  return startServer(listenerBehaviour, args, {
    name: options.name ?? "listener",
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
  }) as Promise<Pid>;
}

/** Where the listener is bound (the actual port when it was started with port 0). */
export function listenerAddress(runtime: Runtime, listener: Pid | Name): Promise<{ host: string; port: number }> {
  return runtime.call(listener, { t: "address" } satisfies Call);
}

export function listenerStats(runtime: Runtime, listener: Pid | Name): Promise<ListenerStats> {
  return runtime.call(listener, { t: "stats" } satisfies Call);
}
