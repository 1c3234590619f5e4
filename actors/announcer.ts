/**
 * announcer: one per torrent (registered names.announcer(ih)), the torrent's tracker client
 * (HTTP BEP 3/23, UDP BEP 15, tiers BEP 12).
 *
 * Guarantees:
 * - A bad tracker never takes the torrent down: refused connections, timeouts, garbage,
 *   oversized bodies, failure reasons and UDP errors are values (AttemptOutcome) that back
 *   that tracker off; only a programming error crashes this actor, and its supervisor
 *   restarts it.
 * - One announce in flight at a time, to the first tracker (tier order, BEP 12) whose
 *   back-off has passed; a tracker that answers moves to the front of its tier.
 * - Each tracker hears `started` first, `completed` once when the download completes
 *   during this run (torrent_ctl casts `completed`), and `stopped` when the torrent stops
 *   in order (terminate on shutdown: exits are trapped; best effort within stopTimeoutMs;
 *   not after a crash or a killed parent, when the torrent restarts at once).
 * - The first announce waits for the torrent's check, so `left` is true from the start.
 * - Peers from an answer (ourselves dropped) are cast to torrent_ctl as `addPeers`.
 * - Re-announce after the tracker's `interval` (or the node's override), never sooner than
 *   its `min interval`.
 * - A failure is logged (warn) once per tracker and reason; retries with the same reason
 *   log at debug; an answer after failures logs the recovery.
 * - Resources: the UDP socket and in-flight HTTP requests are owned (closed on exit); every
 *   socket event, reply and timer enters as a mailbox message.
 *
 * A torrent without a usable tracker: init returns `ignore` (OTP's idiom for "nothing to
 * run"): the supervisor keeps the child spec without a process, nothing idles in the tree,
 * and the `completed` cast to the absent name is a no-op.
 */
import type { Socket } from "node:dgram";
import { isIP } from "node:net";
import {
  assertNever,
  defineServer,
  ignore,
  noreply,
  ok,
  reply,
  startServer,
  CallError,
  isAbnormal,
  type Ctx,
  type Runtime,
  type StartResult,
  type TimerRef,
} from "../src/runtime/index.js";
import { buildAnnounceUrl, type AnnounceEvent, type AnnounceRequest } from "../src/protocol/tracker/index.js";
import { httpAttemptOutcome, type AttemptOutcome } from "./announcer/attempt.js";
import { httpGet } from "./announcer/httpGet.js";
import type { AnnouncerCall, AnnouncerCast, AnnouncerInfo, AnnouncerStatus } from "./announcer/messages.js";
import { resolveOptions, type AnnouncerOptions, type ResolvedOptions } from "./announcer/options.js";
import { announceKey, bytesLeft, reannounceDelay, selectPeers } from "./announcer/schedule.js";
import { buildTiers, eventFor, findTracker, nextTracker, recordAnswer, recordFailure, startedTrackers, type Tiers, type TrackerEntry } from "./announcer/tiers.js";
import { openTrackerSocket, sendDatagram, sendUdpStopped } from "./announcer/udpSocket.js";
import { udpBegin, udpOnReply, udpOnTimeout, type UdpConnection, type UdpStep, type UdpTxn } from "./announcer/udpSession.js";
import { torrentCtl } from "./torrentCtl.js";
import { names, type TorrentState } from "./torrentState.js";

export type { AnnouncerOptions, AnnouncerLog } from "./announcer/options.js";
export type { AnnouncerStatus, TrackerStatus } from "./announcer/messages.js";

export interface AnnouncerArgs {
  readonly state: TorrentState;
  readonly peerId: Buffer;
  /** The port peers reach us on (announced). */
  readonly listenPort: number;
  /** The address our sockets bind to, and the host trackers list us under. */
  readonly localAddress?: string;
  readonly options?: AnnouncerOptions;
}

type Transport =
  | { readonly kind: "http"; readonly abort: AbortController }
  | { readonly kind: "udp"; readonly host: string; readonly port: number; txn: UdpTxn; timer: TimerRef | undefined };

interface Attempt {
  readonly id: number;
  readonly href: string;
  readonly request: AnnounceRequest;
  readonly transport: Transport;
}

interface AnnState {
  readonly ts: TorrentState;
  readonly args: AnnouncerArgs;
  readonly o: ResolvedOptions;
  readonly key: number;
  tiers: Tiers;
  /** The first announce waits for the torrent's check. */
  ready: boolean;
  completedInRun: boolean;
  asking: Attempt | undefined;
  due: { seq: number; timer: TimerRef | undefined };
  attempts: number;
  readonly udpConnections: Map<string, UdpConnection>;
  udp: { readonly socket: Socket; readonly id: number } | undefined;
  socketsOpened: number;
  answered: number;
  failed: number;
  peersFound: number;
  retiredLogged: boolean;
}

export const announcerBehaviour = defineServer<AnnState, AnnouncerArgs, AnnouncerCall, AnnouncerCast, AnnouncerInfo>({
  name: "announcer",

  init(args, ctx) {
    const o = resolveOptions(args.options);
    const ih = args.state.infoHashHex;
    const { tiers, rejected } = buildTiers(args.state.meta.announceList, o.random);
    for (const r of rejected) o.log.warn({ infoHash: ih, tracker: r.href, reason: r.reason }, "tracker URL skipped");
    if (tiers.length === 0) return ignore();
    ctx.trapExit(true); // so terminate runs on the supervisor's shutdown and trackers hear `stopped`
    const s: AnnState = {
      ts: args.state,
      args,
      o,
      key: announceKey(args.peerId, args.state.meta.infoHash),
      tiers,
      ready: false,
      completedInRun: false,
      asking: undefined,
      due: { seq: 0, timer: undefined },
      attempts: 0,
      udpConnections: new Map(),
      udp: undefined,
      socketsOpened: 0,
      answered: 0,
      failed: 0,
      peersFound: 0,
      retiredLogged: false,
    };
    if (args.state.checked) {
      s.ready = true;
      return ok(s, { continue: "announce" });
    }
    const checked = torrentCtl.await(ctx.runtime, ih, "checked").then(
      () => ({ kind: "checked" }) as const,
      (err: unknown) => ({ kind: "unknown", why: err instanceof CallError ? `torrent_ctl: ${err.message}` : String(err) }) as const,
    );
    ctx.pipe(checked, (wait): AnnouncerInfo => ({ t: "checked", wait }));
    return ok(s);
  },

  handleContinue(_cont, s, ctx) {
    kick(s, ctx);
    return noreply(s);
  },

  handleCall(req, _from, s) {
    switch (req.t) {
      case "status":
        return reply(statusOf(s), s);
      default:
        return assertNever(req.t, "announcer call");
    }
  },

  handleCast(msg, s, ctx) {
    switch (msg.t) {
      case "completed":
        s.completedInRun = true;
        kick(s, ctx);
        break;
      case "announceNow":
        kick(s, ctx);
        break;
      default:
        return assertNever(msg, "announcer cast");
    }
    return noreply(s);
  },

  handleInfo(msg, s, ctx) {
    switch (msg.t) {
      case "checked":
        if (msg.wait.kind === "unknown") s.o.log.debug({ infoHash: s.ts.infoHashHex, why: msg.wait.why }, "announcing without waiting for the check");
        s.ready = true;
        kick(s, ctx);
        break;
      case "due":
        if (msg.seq === s.due.seq) kick(s, ctx);
        break;
      case "http":
        if (s.asking?.id === msg.id) finish(s, httpAttemptOutcome(msg.outcome, s.o.maxPeers), ctx);
        break;
      case "udpPacket":
        if (msg.socket === s.udp?.id) onUdpPacket(s, msg.packet, msg.address, msg.port, ctx);
        break;
      case "udpTimeout":
        onUdpTimeout(s, msg, ctx);
        break;
      case "udpSendFailed":
        if (s.asking?.id === msg.id) finish(s, { kind: "failed", reason: `send: ${msg.why}`, retryInMs: undefined }, ctx);
        break;
      case "udpSocketFailed":
        if (msg.socket !== s.udp?.id) break; // a socket already replaced
        dropUdpSocket(s, ctx);
        if (s.asking?.transport.kind === "udp") finish(s, { kind: "failed", reason: `socket: ${msg.why}`, retryInMs: undefined }, ctx);
        break;
      default:
        return assertNever(msg, "announcer info");
    }
    return noreply(s);
  },

  terminate(reason, s, ctx) {
    const a = s.asking;
    if (a?.transport.kind === "http") a.transport.abort.abort();
    s.asking = undefined;
    // Only an orderly stop says goodbye. After a crash or a killed parent this torrent is
    // restarted at once, and a restarted announcer must find its name free, not wait for us.
    if (isAbnormal(reason)) return undefined;
    const sends = startedTrackers(s.tiers).map((e) => sendStopped(s, e, ctx));
    if (sends.length === 0) return undefined;
    return Promise.allSettled(sends);
  },
});

// ---- deciding what to ask whom ----------------------------------------------------------

/** Ask the first tracker that is due, unless one is being asked (its answer kicks again). */
function kick(s: AnnState, ctx: Ctx): void {
  if (!s.ready || s.asking !== undefined) return;
  const now = ctx.runtime.clock.now();
  const pick = nextTracker(s.tiers, now);
  switch (pick.kind) {
    case "try":
      cancelDue(s, ctx);
      ask(s, pick.entry, ctx);
      return;
    case "wait":
      scheduleDue(s, pick.at - now, ctx);
      return;
    case "none":
      cancelDue(s, ctx);
      if (!s.retiredLogged) s.o.log.warn({ infoHash: s.ts.infoHashHex }, "every tracker asked us never to come back");
      s.retiredLogged = true;
      return;
    default:
      assertNever(pick, "tracker pick");
  }
}

function scheduleDue(s: AnnState, delayMs: number, ctx: Ctx): void {
  cancelDue(s, ctx);
  const seq = s.due.seq;
  s.due.timer = ctx.sendAfter(Math.max(0, delayMs), { t: "due", seq } satisfies AnnouncerInfo);
}

function cancelDue(s: AnnState, ctx: Ctx): void {
  if (s.due.timer !== undefined) ctx.cancelTimer(s.due.timer);
  s.due = { seq: s.due.seq + 1, timer: undefined };
}

function requestFor(s: AnnState, event: AnnounceEvent, trackerId: Buffer | undefined): AnnounceRequest {
  const { meta, have, counters } = s.ts;
  return {
    infoHash: meta.infoHash,
    peerId: s.args.peerId,
    port: s.args.listenPort,
    uploaded: counters.uploaded,
    downloaded: counters.downloaded,
    left: bytesLeft(meta, have),
    event,
    numwant: event === "stopped" ? 0 : s.o.numwant,
    key: s.key,
    ...(trackerId === undefined ? {} : { trackerId }),
  };
}

function ask(s: AnnState, entry: TrackerEntry, ctx: Ctx): void {
  const request = requestFor(s, eventFor(entry, s.completedInRun), entry.trackerId);
  const id = ++s.attempts;
  const url = entry.url;
  switch (url.kind) {
    case "http": {
      const abort = ctx.adopt(new AbortController());
      s.asking = { id, href: url.href, request, transport: { kind: "http", abort } };
      const got = httpGet(buildAnnounceUrl(url.href, request), { ...s.o.http, clock: ctx.runtime.clock, signal: abort.signal, ...localAddress(s) });
      ctx.pipe(got, (outcome): AnnouncerInfo => ({ t: "http", id, outcome }));
      return;
    }
    case "udp": {
      const step = udpBegin(s.udpConnections.get(url.href), request, ctx.runtime.clock.now(), s.o.udp, s.o.txid());
      s.asking = { id, href: url.href, request, transport: { kind: "udp", host: url.host, port: url.port, txn: { txid: -1, phase: "connect", n: 0 }, timer: undefined } };
      runUdpStep(s, step, ctx);
      return;
    }
    default:
      assertNever(url, "tracker URL");
  }
}

function localAddress(s: AnnState): { localAddress?: string } {
  return s.args.localAddress === undefined ? {} : { localAddress: s.args.localAddress };
}

/** The attempt in flight came to an end: record it, hand peers over, and decide what is next. */
function finish(s: AnnState, outcome: AttemptOutcome, ctx: Ctx): void {
  const a = s.asking;
  if (a === undefined) return;
  s.asking = undefined;
  releaseTransport(a, ctx);
  const ih = s.ts.infoHashHex;
  const log = s.o.log;
  switch (outcome.kind) {
    case "answered": {
      const r = outcome.reply;
      s.answered++;
      const after = recordAnswer(s.tiers, a.href, { event: a.request.event, left: a.request.left, trackerId: r.trackerId, warning: r.warning });
      s.tiers = after.tiers;
      if (after.recoveredFrom !== undefined) log.info({ infoHash: ih, tracker: a.href, after: after.recoveredFrom }, "tracker answers again");
      if (after.newWarning !== undefined) log.warn({ infoHash: ih, tracker: a.href, warning: after.newWarning }, "tracker warning");
      const chosen = selectPeers(r.peers, { host: s.args.localAddress, port: s.args.listenPort });
      log.debug({ infoHash: ih, tracker: a.href, event: a.request.event, peers: chosen.peers.length, skipped: chosen.skipped + r.peersDropped }, "announced");
      if (chosen.peers.length > 0) {
        s.peersFound += chosen.peers.length;
        ctx.cast(names.torrentCtl(ih), { t: "addPeers", peers: chosen.peers });
      }
      const entry = findTracker(s.tiers, a.href);
      // An event that arrived while this announce was out (completed) goes at once.
      if (entry !== undefined && eventFor(entry, s.completedInRun) !== "none") kick(s, ctx);
      else scheduleDue(s, reannounceDelay(r, { overrideMs: s.o.overrideMs, floorMs: s.o.floorMs }).delayMs, ctx);
      return;
    }
    case "failed": {
      s.failed++;
      const v = recordFailure(s.tiers, a.href, outcome.reason, ctx.runtime.clock.now(), s.o.backoff, outcome.retryInMs);
      s.tiers = v.tiers;
      const fields = { infoHash: ih, tracker: a.href, reason: outcome.reason, failures: v.failures, retryInMs: Math.round(v.retryAt - ctx.runtime.clock.now()) };
      switch (v.kind) {
        case "newFailure":
          log.warn(fields, "tracker failed");
          break;
        case "repeatFailure":
          log.debug(fields, "tracker failed again");
          break;
        default:
          assertNever(v, "failure verdict");
      }
      kick(s, ctx);
      return;
    }
    default:
      assertNever(outcome, "attempt outcome");
  }
}

function releaseTransport(a: Attempt, ctx: Ctx): void {
  const t = a.transport;
  switch (t.kind) {
    case "http":
      ctx.release(t.abort);
      t.abort.abort(); // a no-op once the exchange ended; ends it otherwise
      return;
    case "udp":
      if (t.timer !== undefined) ctx.cancelTimer(t.timer);
      return;
    default:
      assertNever(t, "transport");
  }
}

// ---- UDP ----------------------------------------------------------------------------------

function socketOf(s: AnnState, ctx: Ctx): Socket {
  if (s.udp === undefined) {
    const id = ++s.socketsOpened;
    s.udp = { socket: openTrackerSocket(ctx, s.args.localAddress, id), id };
  }
  return s.udp.socket;
}

function dropUdpSocket(s: AnnState, ctx: Ctx): void {
  const socket = s.udp?.socket;
  if (socket === undefined) return;
  s.udp = undefined;
  ctx.release(socket);
  try {
    socket.close();
  } catch {
    // already closed: what we wanted
  }
}

function runUdpStep(s: AnnState, step: UdpStep, ctx: Ctx): void {
  const a = s.asking;
  if (a === undefined || a.transport.kind !== "udp") return;
  const t = a.transport;
  switch (step.kind) {
    case "send": {
      if (t.timer !== undefined) ctx.cancelTimer(t.timer);
      t.txn = step.txn;
      const id = a.id;
      sendDatagram(socketOf(s, ctx), step.packet, t.host, t.port, (why) => ctx.deliver({ t: "udpSendFailed", id, why } satisfies AnnouncerInfo));
      t.timer = ctx.sendAfter(step.timeoutMs, { t: "udpTimeout", id, txid: step.txn.txid, n: step.txn.n } satisfies AnnouncerInfo);
      return;
    }
    case "announced":
      finish(s, { kind: "answered", reply: step.reply }, ctx);
      return;
    case "failed":
      finish(s, { kind: "failed", reason: step.reason, retryInMs: undefined }, ctx);
      return;
    case "ignored":
      s.o.log.debug({ infoHash: s.ts.infoHashHex, tracker: a.href, reason: step.reason }, "stray datagram");
      return;
    default:
      assertNever(step, "udp step");
  }
}

/** A datagram counts only from the tracker being asked (its port, and its address when the URL names one). */
function onUdpPacket(s: AnnState, packet: Buffer, address: string, port: number, ctx: Ctx): void {
  const a = s.asking;
  if (a === undefined || a.transport.kind !== "udp") return;
  const t = a.transport;
  if (port !== t.port || (isIP(t.host) !== 0 && address !== t.host)) return;
  const now = ctx.runtime.clock.now();
  const out = udpOnReply(t.txn, packet, a.request, now, s.o.udp, s.o.txid(), s.o.maxPeers);
  if (out.connection !== undefined) s.udpConnections.set(a.href, out.connection);
  runUdpStep(s, out.step, ctx);
}

function onUdpTimeout(s: AnnState, msg: Extract<AnnouncerInfo, { t: "udpTimeout" }>, ctx: Ctx): void {
  const a = s.asking;
  if (a === undefined || a.id !== msg.id || a.transport.kind !== "udp") return;
  const t = a.transport;
  if (t.txn.txid !== msg.txid || t.txn.n !== msg.n) return; // superseded by a later packet
  t.timer = undefined;
  runUdpStep(s, udpOnTimeout(t.txn, s.udpConnections.get(a.href), a.request, ctx.runtime.clock.now(), s.o.udp), ctx);
}

// ---- stopping ------------------------------------------------------------------------------

function sendStopped(s: AnnState, entry: TrackerEntry, ctx: Ctx): Promise<unknown> {
  const request = requestFor(s, "stopped", entry.trackerId);
  const clock = ctx.runtime.clock;
  const url = entry.url;
  switch (url.kind) {
    case "http":
      return httpGet(buildAnnounceUrl(url.href, request), { ...s.o.http, timeoutMs: s.o.stopTimeoutMs, clock, ...localAddress(s) });
    case "udp":
      if (s.udp === undefined) return Promise.resolve();
      return sendUdpStopped({
        socket: s.udp.socket,
        host: url.host,
        port: url.port,
        connection: s.udpConnections.get(url.href),
        request,
        timing: s.o.udp,
        txid: s.o.txid,
        clock,
        timeoutMs: s.o.stopTimeoutMs,
      });
    default:
      return assertNever(url, "tracker URL");
  }
}

function statusOf(s: AnnState): AnnouncerStatus {
  return {
    trackers: s.tiers.flatMap((tier, i) =>
      tier.map((e) => ({
        href: e.url.href,
        tier: i,
        failures: e.failures,
        retryAt: e.retryAt,
        lastFailure: e.loggedFailure,
        startedSent: e.startedSent,
        completedSent: e.completedSent,
      })),
    ),
    answered: s.answered,
    failed: s.failed,
    peersFound: s.peersFound,
    asking: s.asking?.href,
  };
}

// ---- API ---------------------------------------------------------------------------------

export function startAnnouncer(args: AnnouncerArgs, runtime?: Runtime): Promise<StartResult> {
  return startServer(announcerBehaviour, args, { name: names.announcer(args.state.infoHashHex), ...(runtime === undefined ? {} : { runtime }) });
}

export const announcer = {
  status: (rt: Runtime, ih: string): Promise<AnnouncerStatus> => rt.call<AnnouncerStatus>(names.announcer(ih), { t: "status" } satisfies AnnouncerCall),
  /** What torrent_ctl sends when the download completes. */
  completed: (rt: Runtime, ih: string): void => rt.cast(names.announcer(ih), { t: "completed" } satisfies AnnouncerCast),
  announceNow: (rt: Runtime, ih: string): void => rt.cast(names.announcer(ih), { t: "announceNow" } satisfies AnnouncerCast),
};
