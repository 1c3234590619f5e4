/**
 * tracker_server: an embedded BitTorrent tracker, HTTP (BEP 3, 23, 48, 7) and UDP (BEP 15)
 * on one host:port, as one actor owning both sockets.
 *
 * What it guarantees:
 * - Every request (an HTTP request, a datagram) enters as a mailbox message and is answered
 *   within one turn; the sockets are adopted, so they close when the actor exits, whatever
 *   the reason. A socket error after binding is this actor's crash (its supervisor decides).
 * - Bounded memory under any load: the swarm table has limits (trackerServer/limits.ts) and
 *   answers a failure reason instead of growing; at most `maxQueuedRequests` requests wait in
 *   the mailbox (more are shed at the door: HTTP 503, datagram dropped); HTTP connections,
 *   header bytes and URL bytes are capped, bodies refused; a datagram longer than any
 *   request is dropped before it is queued; UDP connection ids need no table.
 * - Peers not heard from for `expirySeconds` are dropped by a sweep on the runtime clock.
 * - Private mode serves only the info-hashes it was given at start or by `allowInfoHash`.
 * - The requester never gets itself back; the peer's address is the socket's (a loopback
 *   client may name another with `ip`).
 * - Pure parts live in actors/trackerServer/ (parse, decide, encode) and are tested alone.
 */
import type { Socket as UdpSocket, RemoteInfo } from "node:dgram";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { log } from "../src/log.js";
import { defineServer, noreply, reply, startServer, stop, Reason, type Ctx, type From, type Name, type Pid, type Runtime } from "../src/runtime/index.js";
import { bindPair } from "./trackerServer/bind.js";
import { ConnectionIds } from "./trackerServer/connectionId.js";
import { endpointOf } from "./trackerServer/endpoint.js";
import { RequestGate } from "./trackerServer/gate.js";
import { limitsProblem, resolveLimits, type TrackerLimits } from "./trackerServer/limits.js";
import { answerHttp, answerUdp, OUTCOMES, type HttpAnswer, type Outcome, type ServeContext } from "./trackerServer/serve.js";
import { SwarmTable, type Access, type AllowVerdict, type TableCounts } from "./trackerServer/swarmTable.js";

export type { TrackerLimits } from "./trackerServer/limits.js";
export type { AllowVerdict } from "./trackerServer/swarmTable.js";
export { TrackerBindError } from "./trackerServer/bind.js";

export const TRACKER_SERVER = "tracker_server";

/** Longer than any request (a 74-hash scrape is 1496 bytes; an announce 98 plus BEP 41 options). */
const MAX_DATAGRAM_BYTES = 2048;

export interface TrackerServerOptions {
  /** Only this address is bound, for both HTTP and UDP. */
  readonly host: string;
  /** 0 picks a port free on both TCP and UDP; `trackerAddress` tells which. */
  readonly port: number;
  readonly limits?: Partial<TrackerLimits>;
  /** Given (even empty): a private tracker, serving these info-hashes (40 hex digits) and those added later. */
  readonly privateInfoHashes?: readonly string[];
  /** Registered name (default "tracker_server"). */
  readonly name?: Name;
  /** Only when started from outside any actor with a runtime other than the default. */
  readonly runtime?: Runtime;
  /** Where peer lists start (tests pin it). */
  readonly random?: () => number;
  /** Keys UDP connection ids (default: 32 random bytes per start). */
  readonly secret?: Buffer;
}

export interface TrackerStats extends TableCounts {
  readonly http: Readonly<Record<Outcome, number>>;
  readonly udp: Readonly<Record<Outcome, number>>;
  /** Requests refused at the door because the mailbox held maxQueuedRequests. */
  readonly shed: number;
  readonly sendErrors: number;
}

interface InitArgs {
  readonly host: string;
  readonly port: number;
  readonly limits: TrackerLimits;
  readonly access: Access;
  readonly random: () => number;
  readonly secret: Buffer;
}

interface TrackerState {
  readonly host: string;
  readonly port: number;
  readonly limits: TrackerLimits;
  readonly table: SwarmTable;
  readonly ids: ConnectionIds;
  readonly udp: UdpSocket;
  readonly gate: RequestGate;
  readonly onSent: (error: Error | null) => void;
  readonly http: Record<Outcome, number>;
  readonly udpCounts: Record<Outcome, number>;
  sendErrors: number;
}

type Info =
  | { readonly t: "http"; readonly req: IncomingMessage; readonly res: ServerResponse }
  | { readonly t: "udp"; readonly packet: Buffer; readonly rinfo: RemoteInfo }
  | { readonly t: "sweep" }
  | { readonly t: "sendFailed" }
  | { readonly t: "socketError"; readonly transport: "http" | "udp"; readonly error: Error };

type Call = { readonly t: "address" } | { readonly t: "stats" } | { readonly t: "allow"; readonly infoHash: string };

export const trackerServerBehaviour = defineServer<TrackerState, InitArgs, Call, never, Info>({
  name: "tracker_server",

  async init(args, ctx) {
    const { http, udp, port } = await bindPair(args.host, args.port, args.limits, ctx);
    const gate = new RequestGate(args.limits.maxQueuedRequests);
    listenForRequests(ctx, http, udp, gate);
    ctx.sendInterval(sweepPeriodMs(args.limits), { t: "sweep" } satisfies Info);
    const sendFailed = ctx.relay((): Info => ({ t: "sendFailed" }));
    log.info({ host: args.host, port, private: args.access.kind === "private" }, "tracker listening (http+udp)");
    return {
      kind: "ok" as const,
      state: {
        host: args.host,
        port,
        limits: args.limits,
        table: new SwarmTable(args.limits, args.access, args.random),
        ids: new ConnectionIds(args.secret, args.limits.connectionIdLifetimeSeconds * 1000),
        udp,
        gate,
        onSent: (error: Error | null) => {
          if (error !== null) sendFailed();
        },
        http: zeroCounts(),
        udpCounts: zeroCounts(),
        sendErrors: 0,
      },
    };
  },

  handleCall(req: Call, _from: From, s) {
    switch (req.t) {
      case "address":
        return reply({ host: s.host, port: s.port }, s);
      case "stats":
        return reply(statsOf(s), s);
      case "allow":
        return reply(s.table.allow(req.infoHash), s);
      default: {
        const unreachable: never = req;
        throw new Error(`tracker_server: unexpected call ${JSON.stringify(unreachable)}`);
      }
    }
  },

  handleInfo(msg, s, ctx) {
    switch (msg.t) {
      case "http":
        s.gate.done();
        serveHttp(s, ctx, msg.req, msg.res);
        break;
      case "udp":
        s.gate.done();
        serveUdp(s, ctx, msg.packet, msg.rinfo);
        break;
      case "sweep": {
        const report = s.table.expire(ctx.runtime.clock.now(), s.limits.expirySeconds * 1000);
        if (report.peersRemoved > 0) log.debug(report, "tracker: expired peers");
        break;
      }
      case "sendFailed":
        s.sendErrors++;
        break;
      case "socketError":
        return stop(Reason.error(new Error(`tracker ${msg.transport} socket: ${msg.error.message}`)), s);
      default: {
        const unreachable: never = msg;
        throw new Error(`tracker_server: unexpected message ${JSON.stringify(unreachable)}`);
      }
    }
    return noreply(s);
  },
});

/**
 * The socket callbacks: count through the gate, then post. Shedding happens here, outside
 * a turn, because its whole point is not to queue: a 503 written and the connection closed.
 */
function listenForRequests(ctx: Ctx, http: Server, udp: UdpSocket, gate: RequestGate): void {
  const postHttp = ctx.relay((req: IncomingMessage, res: ServerResponse): Info => ({ t: "http", req, res }));
  const postUdp = ctx.relay((packet: Buffer, rinfo: RemoteInfo): Info => ({ t: "udp", packet, rinfo }));
  http.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (gate.admit() === "admitted") postHttp(req, res);
    else res.writeHead(503, { "Retry-After": "5", Connection: "close", "Content-Length": 0 }).end();
  });
  udp.on("message", (packet: Buffer, rinfo: RemoteInfo) => {
    if (packet.length <= MAX_DATAGRAM_BYTES && gate.admit() === "admitted") postUdp(packet, rinfo);
  });
  http.on("error", ctx.relay((error: Error): Info => ({ t: "socketError", transport: "http", error })));
  udp.on("error", ctx.relay((error: Error): Info => ({ t: "socketError", transport: "udp", error })));
}

function serveContext(s: TrackerState, ctx: Ctx): ServeContext {
  return { table: s.table, limits: s.limits, ids: s.ids, now: ctx.runtime.clock.now() };
}

function serveHttp(s: TrackerState, ctx: Ctx, req: IncomingMessage, res: ServerResponse): void {
  const remote = req.socket.remoteAddress;
  const source = remote === undefined ? undefined : endpointOf(remote, req.socket.remotePort ?? 0);
  if (source === undefined) {
    // The connection is already gone: nobody to answer.
    s.http.dropped++;
    res.destroy();
    return;
  }
  const answer = answerHttp(
    {
      method: req.method,
      target: req.url,
      contentLength: req.headers["content-length"],
      transferEncoding: req.headers["transfer-encoding"],
      source,
    },
    serveContext(s, ctx),
  );
  s.http[answer.outcome]++;
  res.writeHead(answer.status, headersFor(answer)).end(answer.body);
}

function headersFor(answer: HttpAnswer): Record<string, string | number> {
  const headers: Record<string, string | number> = { "Content-Type": "text/plain", "Content-Length": answer.body.length };
  if (answer.status === 405) headers.Allow = "GET";
  // A request with a body (413) or a target too long to read (414) ends its connection.
  if (answer.status === 413 || answer.status === 414) headers.Connection = "close";
  return headers;
}

function serveUdp(s: TrackerState, ctx: Ctx, packet: Buffer, rinfo: RemoteInfo): void {
  const source = endpointOf(rinfo.address, rinfo.port);
  if (source === undefined) {
    s.udpCounts.dropped++;
    return;
  }
  const answer = answerUdp(packet, source, serveContext(s, ctx));
  s.udpCounts[answer.outcome]++;
  switch (answer.kind) {
    case "reply":
      s.udp.send(answer.packet, rinfo.port, rinfo.address, s.onSent);
      break;
    case "silence":
      break;
    default: {
      const unreachable: never = answer;
      throw new Error(`tracker_server: unexpected UDP answer ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Often enough that a peer outlives its expiry by at most half an interval. */
function sweepPeriodMs(limits: TrackerLimits): number {
  return Math.max(1000, Math.floor((limits.intervalSeconds * 1000) / 2));
}

function zeroCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

function statsOf(s: TrackerState): TrackerStats {
  return { ...s.table.counts(), http: { ...s.http }, udp: { ...s.udpCounts }, shed: s.gate.shed, sendErrors: s.sendErrors };
}

const INFO_HASH_HEX = /^[0-9a-fA-F]{40}$/;

function infoHashArg(text: string, where: string): string {
  if (typeof text !== "string" || !INFO_HASH_HEX.test(text)) throw new RangeError(`${where}: an info-hash is 40 hex digits, got ${JSON.stringify(String(text).slice(0, 64))}`);
  return text.toLowerCase();
}

/** Start the tracker (linked to the calling actor, if any); resolves once both sockets are bound. */
export function startTrackerServer(options: TrackerServerOptions): Promise<Pid> {
  let args: InitArgs;
  try {
    if (typeof options.host !== "string" || options.host.length === 0) throw new RangeError("startTrackerServer: host is required");
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new RangeError(`startTrackerServer: port must be 0..65535, got ${options.port}`);
    }
    const limits = resolveLimits(options.limits);
    const problem = limitsProblem(limits);
    if (problem !== undefined) throw new RangeError(`startTrackerServer: ${problem}`);
    const access: Access =
      options.privateInfoHashes === undefined
        ? { kind: "open" }
        : { kind: "private", infoHashes: options.privateInfoHashes.map((h) => infoHashArg(h, "startTrackerServer privateInfoHashes")) };
    args = { host: options.host, port: options.port, limits, access, random: options.random ?? Math.random, secret: options.secret ?? randomBytes(32) };
  } catch (error) {
    return Promise.reject(error);
  }
  return startServer(trackerServerBehaviour, args, {
    name: options.name ?? TRACKER_SERVER,
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
  }) as Promise<Pid>;
}

/** Where the tracker is bound (the actual port when it was started with port 0). */
export function trackerAddress(runtime: Runtime, server: Pid | Name): Promise<{ host: string; port: number }> {
  return runtime.call(server, { t: "address" } satisfies Call);
}

export function trackerStats(runtime: Runtime, server: Pid | Name): Promise<TrackerStats> {
  return runtime.call(server, { t: "stats" } satisfies Call);
}

/** Private mode: serve this info-hash from now on (an open tracker answers `openTracker`). */
export function allowInfoHash(runtime: Runtime, server: Pid | Name, infoHashHex: string): Promise<AllowVerdict> {
  let infoHash: string;
  try {
    infoHash = infoHashArg(infoHashHex, "allowInfoHash");
  } catch (error) {
    return Promise.reject(error);
  }
  return runtime.call(server, { t: "allow", infoHash } satisfies Call);
}
