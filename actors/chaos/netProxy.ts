/**
 * net_proxy: a fault-injecting TCP proxy in front of one node's listener. Every connection
 * accepted on its port is paired with a connection to the target (the node's real
 * listener); bytes are forwarded both ways with latency, a bandwidth cap, random resets and
 * random stalls, at the rates of a ChaosSpec's `net`.
 *
 * Guarantees:
 * - One actor owns everything: the server and both sockets of every link are adopted, so
 *   they close when it exits (any reason, kill included). Every socket callback (readable,
 *   end, drain, connect, close, error) enters as a mailbox message; no proxy logic runs
 *   outside a turn.
 * - Bounded memory: sockets are read in paused mode, and never more than the flow's room
 *   (netFlow.ts), so each direction of each link holds at most `maxHeldBytes` (default
 *   512 KiB) in the proxy; a writer that cannot keep up (write() returned false) stops the
 *   flow until 'drain', and a full flow stops reading, so the sender's own socket fills and
 *   TCP pushes back on it. Beyond that only Node's socket buffers hold bytes (a read high
 *   water mark and a write high water mark plus one write per socket). At most `maxLinks`
 *   links (default 128); more connections are closed at once.
 * - Order and integrity: each direction forwards its bytes in order, unchanged; a link ends
 *   (FIN) toward one side only after everything read from the other side was written.
 * - Faults are seeded (actors/chaos/schedule.ts: streams "net/reset" and "net/stall" on the
 *   runtime clock): at a reset, a live link drawn by name is destroyed with a TCP RST on both
 *   sides; at a stall, a link not already stalled stops reading and writing both ways for
 *   `stallMs`, then resumes. Each is recorded (netReset / netStall, the link named by the
 *   dialler's address) after it happened; a strike with no candidate link is a miss,
 *   counted in stats, not recorded.
 * - Latency and bandwidth apply to each direction of each link separately (a link's
 *   bandwidth cap is per direction, as on a real full-duplex link).
 * - The dialler's host is kept: on loopback the proxy connects to the target from the
 *   dialler's own 127.x.y.z address, so the node sees (and smart-bans) the real host, not
 *   the proxy's.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import {
  assertNever,
  defineServer,
  noreply,
  reply,
  startServer,
  stop,
  Reason,
  type Ctx,
  type From,
  type Pid,
  type Runtime,
  type TimerRef,
} from "../../src/runtime/index.js";
import type { ChaosEvent, ChaosSpec } from "../../src/swarm/chaosSpec.js";
import { Flow } from "./netFlow.js";
import { faultStream, pickVictim, type FaultStream } from "./schedule.js";

export interface NetProxyArgs {
  /** Label for events. */
  readonly node: string;
  readonly listenHost: string;
  /** 0 picks a free port. */
  readonly listenPort: number;
  /** The node's real listener. */
  readonly targetHost: string;
  readonly targetPort: number;
  readonly net: NonNullable<ChaosSpec["net"]>;
  readonly seed: number;
  readonly record: (event: ChaosEvent) => void;
  /** Per direction per link (default 512 KiB). */
  readonly maxHeldBytes?: number;
  /** Links at once (default 128). */
  readonly maxLinks?: number;
}

export const DEFAULT_MAX_HELD_BYTES = 512 * 1024;
export const DEFAULT_MAX_LINKS = 128;

export interface NetProxyStats {
  readonly port: number;
  readonly links: number;
  readonly accepted: number;
  /** Closed at once: maxLinks links were already up. */
  readonly refused: number;
  readonly resets: number;
  readonly resetMisses: number;
  readonly stalls: number;
  readonly stallMisses: number;
  /** Bytes written toward the target (dialler -> node) and back. */
  readonly forwardedUp: number;
  readonly forwardedDown: number;
  /** Bytes held for a side that closed first (they had nowhere to go). */
  readonly dropped: number;
  /** Bytes held now, over every flow. */
  readonly heldNow: number;
  /** The most any one flow ever held. */
  readonly peakHeld: number;
  readonly maxHeldBytes: number;
}

type SideName = "client" | "upstream";
/** up: client -> upstream (the dialler's bytes toward the node); down: the way back. */
type Dir = "up" | "down";

interface Side {
  readonly socket: Socket;
  /** The source's end was read (FIN): nothing more will come from it. */
  readEnded: boolean;
  /** We sent FIN toward it. */
  writeEnded: boolean;
  closed: boolean;
  waitingDrain: boolean;
}

interface FlowSlot {
  readonly flow: Flow;
  timer: TimerRef | undefined;
  timerAt: number;
}

interface Link {
  readonly id: number;
  readonly name: string;
  readonly client: Side;
  readonly upstream: Side;
  upstreamReady: boolean;
  readonly up: FlowSlot;
  readonly down: FlowSlot;
  stalled: TimerRef | undefined;
}

type Fault = "reset" | "stall";

interface FaultState {
  readonly stream: FaultStream;
  dueAt: number;
  hits: number;
  misses: number;
}

interface ProxyState {
  readonly args: NetProxyArgs;
  readonly server: Server;
  readonly port: number;
  readonly maxHeld: number;
  readonly maxLinks: number;
  readonly links: Map<number, Link>;
  nextId: number;
  readonly faults: Map<Fault, FaultState>;
  readonly totals: { accepted: number; refused: number; forwardedUp: number; forwardedDown: number; dropped: number; peakHeld: number };
}

type Info =
  | { readonly t: "accepted"; readonly socket: Socket }
  | { readonly t: "connected"; readonly id: number }
  | { readonly t: "readable" | "readEnd" | "drain"; readonly id: number; readonly side: SideName }
  | { readonly t: "closed"; readonly id: number; readonly side: SideName; readonly hadError: boolean }
  | { readonly t: "socketError"; readonly id: number; readonly side: SideName }
  | { readonly t: "flush" | "service"; readonly id: number; readonly dir: Dir }
  | { readonly t: "unstall"; readonly id: number }
  | { readonly t: "strike"; readonly fault: Fault }
  | { readonly t: "serverError"; readonly error: Error };

type Call = { readonly t: "stats" };

/** Read/write rounds per message before the rest is left to a "service" message (fairness). */
const ROUNDS_PER_TURN = 16;

const proxyBehaviour = defineServer<ProxyState, NetProxyArgs, Call, never, Info>({
  name: "net_proxy",

  async init(args, ctx) {
    const server = ctx.adopt(createServer({ allowHalfOpen: true, noDelay: true }));
    server.on("connection", ctx.relay((socket: Socket): Info => ({ t: "accepted", socket })));
    server.on("error", ctx.relay((error: Error): Info => ({ t: "serverError", error })));
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
      server.listen({ host: args.listenHost, port: args.listenPort });
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : args.listenPort;
    const faults = new Map<Fault, FaultState>();
    const now = ctx.runtime.clock.now();
    const rates: readonly [Fault, number][] = [
      ["reset", args.net.resetPerSecond],
      ["stall", args.net.stallPerSecond],
    ];
    for (const [fault, perSecond] of rates) {
      if (perSecond <= 0) continue;
      const stream = faultStream(args.seed, `net/${fault}`, perSecond);
      const f: FaultState = { stream, dueAt: now + stream.nextGapMs(), hits: 0, misses: 0 };
      faults.set(fault, f);
      armStrike(ctx, fault, f);
    }
    const state: ProxyState = {
      args,
      server,
      port,
      maxHeld: args.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES,
      maxLinks: args.maxLinks ?? DEFAULT_MAX_LINKS,
      links: new Map(),
      nextId: 0,
      faults,
      totals: { accepted: 0, refused: 0, forwardedUp: 0, forwardedDown: 0, dropped: 0, peakHeld: 0 },
    };
    return { kind: "ok" as const, state };
  },

  handleCall(req: Call, _from: From, s) {
    switch (req.t) {
      case "stats":
        return reply(statsOf(s), s);
      default:
        return assertNever(req.t, "net_proxy call");
    }
  },

  handleInfo(msg, s, ctx) {
    if (msg.t === "accepted") {
      accept(s, ctx, msg.socket);
      return noreply(s);
    }
    if (msg.t === "strike") {
      strike(s, ctx, msg.fault);
      return noreply(s);
    }
    if (msg.t === "serverError") return stop(Reason.error(msg.error), s);
    const link = s.links.get(msg.id);
    if (link === undefined) return noreply(s); // a late callback of a link already gone
    switch (msg.t) {
      case "connected":
        link.upstreamReady = true;
        service(s, ctx, link, "up");
        break;
      case "readable":
        service(s, ctx, link, fromSide(msg.side));
        break;
      case "readEnd":
        sideOf(link, msg.side).readEnded = true;
        service(s, ctx, link, fromSide(msg.side));
        break;
      case "drain":
        sideOf(link, msg.side).waitingDrain = false;
        service(s, ctx, link, toSide(msg.side));
        break;
      case "flush":
        slotOf(link, msg.dir).timer = undefined;
        service(s, ctx, link, msg.dir);
        break;
      case "service":
        service(s, ctx, link, msg.dir);
        break;
      case "closed":
        onClosed(s, ctx, link, msg.side, msg.hadError);
        break;
      case "socketError":
        teardown(s, ctx, link, "reset");
        break;
      case "unstall":
        link.stalled = undefined;
        service(s, ctx, link, "up");
        service(s, ctx, link, "down");
        break;
      default:
        return assertNever(msg, "net_proxy message");
    }
    return noreply(s);
  },
});

// ---- links ------------------------------------------------------------------------------

const fromSide = (side: SideName): Dir => (side === "client" ? "up" : "down");
const toSide = (side: SideName): Dir => (side === "client" ? "down" : "up");
const sideOf = (link: Link, side: SideName): Side => (side === "client" ? link.client : link.upstream);
const slotOf = (link: Link, dir: Dir): FlowSlot => (dir === "up" ? link.up : link.down);
const sourceOf = (link: Link, dir: Dir): Side => (dir === "up" ? link.client : link.upstream);
const destOf = (link: Link, dir: Dir): Side => (dir === "up" ? link.upstream : link.client);

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** On loopback (both ends), connect from the dialler's own address so the node sees the real host. */
function sourceHostFor(remote: string, target: string): string | undefined {
  return LOOPBACK_V4.test(remote) && LOOPBACK_V4.test(target) ? remote : undefined;
}

function accept(s: ProxyState, ctx: Ctx, client: Socket): void {
  s.totals.accepted++;
  const remote = client.remoteAddress;
  if (s.links.size >= s.maxLinks || remote === undefined) {
    s.totals.refused++;
    client.on("error", ignoreLateError);
    client.destroy();
    return;
  }
  const id = s.nextId++;
  ctx.adopt(client);
  const localAddress = sourceHostFor(remote, s.args.targetHost);
  const upstream = ctx.adopt(
    connect({ host: s.args.targetHost, port: s.args.targetPort, allowHalfOpen: true, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) }),
  );
  const now = ctx.runtime.clock.now();
  const slot = (): FlowSlot => ({ flow: new Flow(s.maxHeld, s.args.net.latencyMs, s.args.net.bandwidthBytesPerSec, now), timer: undefined, timerAt: 0 });
  const side = (socket: Socket): Side => ({ socket, readEnded: false, writeEnded: false, closed: false, waitingDrain: false });
  const link: Link = { id, name: `${remote}:${client.remotePort ?? 0}`, client: side(client), upstream: side(upstream), upstreamReady: false, up: slot(), down: slot(), stalled: undefined };
  s.links.set(id, link);
  watch(ctx, id, "client", client);
  watch(ctx, id, "upstream", upstream);
  upstream.once("connect", ctx.relay((): Info => ({ t: "connected", id })));
}

/** Every socket event as a message. 'readable' puts the socket in paused mode: we read only what fits. */
function watch(ctx: Ctx, id: number, side: SideName, socket: Socket): void {
  socket.on("readable", ctx.relay((): Info => ({ t: "readable", id, side })));
  socket.on("end", ctx.relay((): Info => ({ t: "readEnd", id, side })));
  socket.on("drain", ctx.relay((): Info => ({ t: "drain", id, side })));
  socket.on("close", ctx.relay((hadError: boolean): Info => ({ t: "closed", id, side, hadError })));
  socket.on("error", ctx.relay((): Info => ({ t: "socketError", id, side })));
}

function ignoreLateError(): void {
  // A socket we destroyed may still report an error; it has nowhere to go.
}

/**
 * Moves one direction along: read what fits, write what is due, until neither makes
 * progress; then arms the timer for the next due time, or ends the destination once the
 * source ended and everything was written.
 */
function service(s: ProxyState, ctx: Ctx, link: Link, dir: Dir): void {
  if (link.stalled !== undefined) return;
  const slot = slotOf(link, dir);
  const src = sourceOf(link, dir);
  const dst = destOf(link, dir);
  const now = ctx.runtime.clock.now();
  for (let round = 0; round < ROUNDS_PER_TURN; round++) {
    const read = readInto(slot.flow, src, now);
    const wrote = writeOut(s, ctx, link, dir, now);
    if (read === 0 && wrote === 0) {
      if (src.readEnded && slot.flow.isEmpty && !dst.writeEnded && !dst.closed) {
        dst.writeEnded = true;
        dst.socket.end();
      }
      return;
    }
  }
  ctx.deliver({ t: "service", id: link.id, dir } satisfies Info);
}

/** Reads at most the flow's room from a paused socket; returns the bytes read. */
function readInto(flow: Flow, src: Side, now: number): number {
  let total = 0;
  for (let guard = 0; guard < 1024; guard++) {
    const room = flow.room();
    const buffered = src.socket.readableLength;
    if (room > 0 && buffered === 0) {
      // Nothing buffered: a read() returns null, asks for the next 'readable', and is what
      // lets a stream that reached its end emit 'end'.
      src.socket.read();
      break;
    }
    const n = Math.min(room, buffered);
    if (n <= 0) break;
    const chunk = src.socket.read(n) as Buffer | null;
    if (chunk === null) break;
    flow.push(chunk, now);
    total += chunk.length;
  }
  return total;
}

/** Writes what is due and allowed; returns the bytes written. */
function writeOut(s: ProxyState, ctx: Ctx, link: Link, dir: Dir, now: number): number {
  const slot = slotOf(link, dir);
  const dst = destOf(link, dir);
  if (dst.closed) {
    s.totals.dropped += slot.flow.clear();
    return 0;
  }
  if (dst.waitingDrain || dst.writeEnded || (dir === "up" && !link.upstreamReady)) return 0;
  let total = 0;
  for (let guard = 0; guard < 4096; guard++) {
    const step = slot.flow.nextStep(now);
    switch (step.kind) {
      case "send":
        total += step.data.length;
        if (dir === "up") s.totals.forwardedUp += step.data.length;
        else s.totals.forwardedDown += step.data.length;
        if (!dst.socket.write(step.data)) {
          dst.waitingDrain = true;
          return total;
        }
        continue;
      case "waitUntil":
        armFlush(ctx, link, dir, step.at, now);
        return total;
      case "empty":
        return total;
      default:
        return assertNever(step, "flow step");
    }
  }
  return total;
}

function armFlush(ctx: Ctx, link: Link, dir: Dir, at: number, now: number): void {
  const slot = slotOf(link, dir);
  if (slot.timer !== undefined) {
    if (slot.timerAt === at) return;
    ctx.cancelTimer(slot.timer);
  }
  slot.timerAt = at;
  slot.timer = ctx.sendAfter(Math.max(0, at - now), { t: "flush", id: link.id, dir } satisfies Info);
}

function onClosed(s: ProxyState, ctx: Ctx, link: Link, side: SideName, hadError: boolean): void {
  if (hadError) {
    teardown(s, ctx, link, "reset");
    return;
  }
  const closed = sideOf(link, side);
  closed.closed = true;
  closed.readEnded = true;
  // What it sent still goes to the other side (then FIN); what was held for it is dropped.
  service(s, ctx, link, fromSide(side));
  s.totals.dropped += slotOf(link, toSide(side)).flow.clear();
  if (link.client.closed && link.upstream.closed) teardown(s, ctx, link, "closed");
}

/** Removes a link; "reset" aborts both sockets with a TCP RST, "closed" only lets go of them. */
function teardown(s: ProxyState, ctx: Ctx, link: Link, how: "reset" | "closed"): void {
  if (!s.links.delete(link.id)) return;
  for (const slot of [link.up, link.down]) {
    if (slot.timer !== undefined) ctx.cancelTimer(slot.timer);
    s.totals.peakHeld = Math.max(s.totals.peakHeld, slot.flow.peakHeld);
    s.totals.dropped += slot.flow.clear();
  }
  if (link.stalled !== undefined) ctx.cancelTimer(link.stalled);
  for (const side of [link.client, link.upstream]) {
    const socket = side.socket;
    socket.on("error", ignoreLateError);
    if (how === "reset") abort(socket);
    else socket.destroy();
    ctx.release(socket);
  }
}

function abort(socket: Socket): void {
  // resetAndDestroy waits for a connection in progress; one that is not up yet just goes.
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

// ---- faults -----------------------------------------------------------------------------

function armStrike(ctx: Ctx, fault: Fault, f: FaultState): void {
  ctx.sendAfter(Math.max(0, f.dueAt - ctx.runtime.clock.now()), { t: "strike", fault } satisfies Info);
}

function strike(s: ProxyState, ctx: Ctx, fault: Fault): void {
  const f = s.faults.get(fault);
  if (f === undefined) return;
  const candidates = [...s.links.values()].filter((l) => fault === "reset" || l.stalled === undefined).map((l) => ({ name: l.name, value: l }));
  const choice = pickVictim(f.stream.victim, candidates);
  switch (choice.kind) {
    case "victim":
      f.hits++;
      if (fault === "reset") teardown(s, ctx, choice.value, "reset");
      else stall(s, ctx, choice.value);
      s.args.record({ t: ctx.runtime.clock.now(), kind: fault === "reset" ? "netReset" : "netStall", node: s.args.node, link: choice.name });
      break;
    case "none":
      f.misses++;
      break;
    default:
      assertNever(choice, "victim choice");
  }
  f.dueAt += f.stream.nextGapMs();
  armStrike(ctx, fault, f);
}

/** Stops the link both ways: service() does nothing while `stalled` is set, so nothing is read or written. */
function stall(s: ProxyState, ctx: Ctx, link: Link): void {
  for (const slot of [link.up, link.down]) {
    if (slot.timer !== undefined) ctx.cancelTimer(slot.timer);
    slot.timer = undefined;
  }
  link.stalled = ctx.sendAfter(s.args.net.stallMs, { t: "unstall", id: link.id } satisfies Info);
}

function statsOf(s: ProxyState): NetProxyStats {
  let heldNow = 0;
  let peakHeld = s.totals.peakHeld;
  for (const link of s.links.values()) {
    for (const slot of [link.up, link.down]) {
      heldNow += slot.flow.held;
      peakHeld = Math.max(peakHeld, slot.flow.peakHeld);
    }
  }
  const reset = s.faults.get("reset");
  const stalls = s.faults.get("stall");
  return {
    port: s.port,
    links: s.links.size,
    accepted: s.totals.accepted,
    refused: s.totals.refused,
    resets: reset?.hits ?? 0,
    resetMisses: reset?.misses ?? 0,
    stalls: stalls?.hits ?? 0,
    stallMisses: stalls?.misses ?? 0,
    forwardedUp: s.totals.forwardedUp,
    forwardedDown: s.totals.forwardedDown,
    dropped: s.totals.dropped,
    heldNow,
    peakHeld,
    maxHeldBytes: s.maxHeld,
  };
}

/**
 * Starts the proxy on `runtime`, unlinked (stop it with runtime.stop(pid), or it goes with
 * its runtime); resolves once it listens, with the port it listens on.
 */
export async function startNetProxy(runtime: Runtime, args: NetProxyArgs): Promise<{ pid: Pid; port: number }> {
  checkArgs(args);
  const pid = await startServer(proxyBehaviour, args, { runtime, link: false });
  if (pid === "ignore") throw new Error("net_proxy: init returned ignore");
  const stats = await netProxy.stats(runtime, pid);
  return { pid, port: stats.port };
}

function checkArgs(args: NetProxyArgs): void {
  const port = (p: number, what: string, min: number): void => {
    if (!Number.isInteger(p) || p < min || p > 65535) throw new RangeError(`startNetProxy: ${what} must be ${min}..65535, got ${p}`);
  };
  port(args.listenPort, "listenPort", 0);
  port(args.targetPort, "targetPort", 1);
  const positive = (n: number | undefined, what: string): void => {
    if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new RangeError(`startNetProxy: ${what} must be a whole number >= 1, got ${n}`);
  };
  positive(args.maxHeldBytes, "maxHeldBytes");
  positive(args.maxLinks, "maxLinks");
  const net = args.net;
  if (!(net.latencyMs >= 0) || !(net.resetPerSecond >= 0) || !(net.stallPerSecond >= 0) || !(net.stallMs >= 0)) {
    throw new RangeError("startNetProxy: latency, rates and stall duration must be >= 0");
  }
}

export const netProxy = {
  stats: (runtime: Runtime, pid: Pid): Promise<NetProxyStats> => runtime.call<NetProxyStats>(pid, { t: "stats" } satisfies Call),
};
