/**
 * torrent_ctl: one per torrent. Owns the torrent's lifecycle (checking -> leeching ->
 * seeding -> stopped, an xstate machine fed only phase changes), checks the data on start,
 * dials the peers it was given and redials them with back-off while leeching, and answers
 * for the torrent (stats, "wait until complete").
 *
 * Guarantees:
 * - The check runs off the controller's turn (on the hash pool, results piped back), so
 *   stats calls are answered while it runs; pieces found valid go into TorrentState.have
 *   and the piece manager is told to resync (it then announces them to connected peers).
 * - The check reads only what the resume file cannot vouch for (storage/resume/plan.ts
 *   states the trust rule); no usable resume file, and every piece is read. A resume file
 *   that is torn, damaged or another torrent's is ignored with a warning.
 * - A restarted controller does not check again: TorrentState.checked says the have-set
 *   is already established (only pieces verified and written are in it).
 * - Every dialled peer is monitored; while leeching, a peer that goes away (crash, kill,
 *   refused connection) is dialled again after 0.5 s x 2^attempts, capped at 15 s, unless
 *   its host was banned.
 */
import { log } from "../src/log.js";
import {
  DownMsg,
  assertNever,
  defineServer,
  noreply,
  ok,
  reply,
  startChild,
  startServer,
  type Ctx,
  type From,
  type Pid,
  type Runtime,
  type StartResult,
} from "../src/runtime/index.js";
import { poolHasher } from "./hashPool.js";
import { resumeFileOf } from "../src/storage/resume.js";
import { startupCheck, summarize, type StartupCheck, type StartupSummary } from "../src/storage/resume/startupCheck.js";
import { createActor, type Actor } from "xstate";
import { phaseOf, torrentMachine, type TorrentPhase } from "./torrentCtl/machine.js";
import { names, type TorrentCounters, type TorrentState } from "./torrentState.js";

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TorrentCtlArgs {
  readonly state: TorrentState;
  /** The extra args peer_pool's template gets for an outgoing connection to `addr`. */
  readonly outgoing: (addr: PeerAddress) => unknown;
  readonly peers?: readonly PeerAddress[];
  readonly redial?: { readonly baseMs: number; readonly maxMs: number };
  /** Outgoing connections at once (default 50); addresses past it wait for a free slot. */
  readonly maxPeers?: number;
  /** Default: beside the payload (storage/resume.ts resumeFileOf). */
  readonly resumeFile?: string;
}

export interface TorrentStats {
  readonly infoHash: string;
  readonly phase: TorrentPhase;
  readonly pieces: number;
  readonly have: number;
  readonly bytes: number;
  readonly counters: Readonly<TorrentCounters>;
  readonly peers: number;
  readonly checkedBytes: number;
  /** How the start-up check went (undefined while it runs, and in a restarted controller). */
  readonly startup: StartupSummary | undefined;
  /** Hosts banned for bad data, and every host's smart-ban strikes. */
  readonly banned: readonly string[];
  readonly strikes: Readonly<Record<string, number>>;
}

/** What a caller can wait for: the start-up check to end, or every piece to be had. */
export type Milestone = "checked" | "complete";

type Call = { readonly t: "stats" } | { readonly t: "await"; readonly until: Milestone };
type Cast = { readonly t: "downloadComplete" } | { readonly t: "addPeers"; readonly peers: readonly PeerAddress[] };
type Info =
  | DownMsg
  | { readonly t: "checkProgress"; readonly bytes: number }
  | { readonly t: "checked"; readonly result: StartupCheck }
  | { readonly t: "dialed"; readonly key: string; readonly outcome: DialOutcome }
  | { readonly t: "redial"; readonly key: string };

type DialOutcome = { readonly kind: "started"; readonly pid: Pid } | { readonly kind: "failed"; readonly why: string };

interface Dial {
  readonly addr: PeerAddress;
  attempts: number;
  pid: Pid | undefined;
  dialing: boolean;
  /** Back-off: not dialled again before this time (runtime clock). */
  retryAt: number;
}

interface CtlState {
  readonly ts: TorrentState;
  readonly args: TorrentCtlArgs;
  readonly machine: Actor<typeof torrentMachine>;
  readonly dials: Map<string, Dial>;
  readonly byPid: Map<number, string>;
  readonly waiting: { readonly from: From; readonly until: Milestone }[];
  checkedBytes: number;
  startup: StartupSummary | undefined;
  /** Dials started and not yet answered. */
  dialing: number;
}

const keyOf = (a: PeerAddress): string => `${a.host}:${a.port}`;

const newDial = (addr: PeerAddress): Dial => ({ addr, attempts: 0, pid: undefined, dialing: false, retryAt: 0 });

export const torrentCtlBehaviour = defineServer<CtlState, TorrentCtlArgs, Call, Cast, Info>({
  name: "torrent_ctl",

  init(args) {
    const machine = createActor(torrentMachine).start();
    const s: CtlState = { ts: args.state, args, machine, dials: new Map(), byPid: new Map(), waiting: [], checkedBytes: 0, startup: undefined, dialing: 0 };
    for (const addr of args.peers ?? []) s.dials.set(keyOf(addr), newDial(addr));
    return ok(s, { continue: "check" });
  },

  handleContinue(_cont, s, ctx) {
    if (s.ts.checked) {
      onChecked(s, ctx);
      return noreply(s);
    }
    const { meta, paths } = s.ts;
    const resumeFile = s.args.resumeFile ?? resumeFileOf(meta, paths);
    // The node's hash_pool lends its pool; bulk checks read and hash on its threads.
    const check = poolHasher(ctx).then((hasher) =>
      startupCheck({ meta, paths, resumeFile, hasher, absentAtStart: s.ts.absentAtStart, onProgress: (bytes) => ctx.deliver({ t: "checkProgress", bytes } satisfies Info) }),
    );
    ctx.pipe(check, (result) => ({ t: "checked", result }) satisfies Info);
    return noreply(s);
  },

  handleCall(req, from, s) {
    switch (req.t) {
      case "stats":
        return reply(statsOf(s), s);
      case "await":
        if (reached(s, req.until)) return reply(statsOf(s), s);
        s.waiting.push({ from, until: req.until });
        return noreply(s);
      default:
        return assertNever(req, "torrent_ctl call");
    }
  },

  handleCast(msg, s, ctx) {
    switch (msg.t) {
      case "downloadComplete":
        if (phaseOf(s.machine.getSnapshot()) === "leeching") {
          s.machine.send({ type: "DOWNLOAD_COMPLETE" });
          s.ts.completedAt = ctx.runtime.clock.now();
          log.info({ infoHash: s.ts.infoHashHex, downloaded: s.ts.counters.downloaded }, "download complete; seeding");
          // Trackers hear `completed` (BEP 3); a cast to an absent announcer is a no-op.
          ctx.cast(names.announcer(s.ts.infoHashHex), { t: "completed" });
          answerWaiters(s, ctx);
        }
        break;
      case "addPeers":
        for (const addr of msg.peers) {
          const key = keyOf(addr);
          if (s.dials.has(key)) continue;
          s.dials.set(key, newDial(addr));
          if (phaseOf(s.machine.getSnapshot()) === "leeching") dial(s, key, ctx);
        }
        break;
      default:
        return assertNever(msg, "torrent_ctl cast");
    }
    return noreply(s);
  },

  handleInfo(msg, s, ctx) {
    if (msg instanceof DownMsg) {
      const key = s.byPid.get(msg.pid.id);
      if (key !== undefined) {
        s.byPid.delete(msg.pid.id);
        const d = s.dials.get(key);
        if (d !== undefined) d.pid = undefined;
        scheduleRedial(s, key, ctx);
        fillSlots(s, ctx);
      }
      return noreply(s);
    }
    switch (msg.t) {
      case "checkProgress":
        s.checkedBytes = msg.bytes;
        break;
      case "checked": {
        const { result } = msg;
        for (const piece of result.have) s.ts.have.set(piece);
        s.ts.checked = true;
        s.startup = summarize(result);
        logCheck(s.ts, result, s.startup);
        onChecked(s, ctx);
        break;
      }
      case "dialed":
        onDialed(s, msg.key, msg.outcome, ctx);
        break;
      case "redial":
        dial(s, msg.key, ctx);
        break;
      default:
        return assertNever(msg, "torrent_ctl info");
    }
    return noreply(s);
  },

  terminate(_reason, s) {
    s.machine.send({ type: "STOP" });
    s.machine.stop();
  },
});

function onChecked(s: CtlState, ctx: Ctx): void {
  ctx.cast(names.pieceMgr(s.ts.infoHashHex), { t: "resync" });
  s.machine.send({ type: "CHECKED", complete: s.ts.have.count === s.ts.meta.pieceCount });
  const phase = phaseOf(s.machine.getSnapshot());
  if (phase === "seeding") s.ts.completedAt ??= ctx.runtime.clock.now();
  answerWaiters(s, ctx);
  if (phase === "seeding") return;
  for (const key of s.dials.keys()) dial(s, key, ctx);
}

function logCheck(ts: TorrentState, result: StartupCheck, summary: StartupSummary): void {
  const { plan } = result;
  if (plan.kind === "fullCheck" && plan.why.kind !== "noResume") {
    log.warn({ infoHash: ts.infoHashHex, why: plan.why }, "resume data ignored; checking every piece");
  }
  log.info({ infoHash: ts.infoHashHex, have: ts.have.count, pieces: ts.meta.pieceCount, ...summary }, "check done");
}

function dial(s: CtlState, key: string, ctx: Ctx): void {
  const d = s.dials.get(key);
  if (d === undefined || d.pid !== undefined || d.dialing) return;
  if (s.ts.banned.has(d.addr.host)) return;
  if (s.byPid.size + s.dialing >= (s.args.maxPeers ?? 50)) return; // a slot frees on DOWN: fillSlots
  d.dialing = true;
  s.dialing++;
  const started = startChild(names.peerPool(s.ts.infoHashHex), [s.args.outgoing(d.addr)]).then(
    (res): DialOutcome => (res === "ignore" ? { kind: "failed", why: "ignored" } : { kind: "started", pid: res }),
    (err: unknown): DialOutcome => ({ kind: "failed", why: err instanceof Error ? err.message : String(err) }),
  );
  ctx.pipe(started, (outcome) => ({ t: "dialed", key, outcome }) satisfies Info);
}

function onDialed(s: CtlState, key: string, outcome: DialOutcome, ctx: Ctx): void {
  const d = s.dials.get(key);
  if (d === undefined) return;
  d.dialing = false;
  s.dialing--;
  switch (outcome.kind) {
    case "started":
      d.pid = outcome.pid;
      d.attempts = 0;
      s.byPid.set(outcome.pid.id, key);
      ctx.monitor(outcome.pid);
      return;
    case "failed":
      log.debug({ infoHash: s.ts.infoHashHex, peer: key, why: outcome.why }, "dial failed");
      scheduleRedial(s, key, ctx);
      return;
    default:
      return assertNever(outcome, "dial outcome");
  }
}

/** A connection slot freed: dial addresses that have never been tried or are due. */
function fillSlots(s: CtlState, ctx: Ctx): void {
  if (phaseOf(s.machine.getSnapshot()) !== "leeching") return;
  const now = ctx.runtime.clock.now();
  for (const [key, d] of s.dials) if (d.pid === undefined && !d.dialing && now >= d.retryAt) dial(s, key, ctx);
}

function scheduleRedial(s: CtlState, key: string, ctx: Ctx): void {
  const d = s.dials.get(key);
  if (d === undefined || phaseOf(s.machine.getSnapshot()) !== "leeching" || s.ts.banned.has(d.addr.host)) return;
  const { baseMs, maxMs } = s.args.redial ?? { baseMs: 500, maxMs: 15_000 };
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(d.attempts, 20));
  d.attempts++;
  d.retryAt = ctx.runtime.clock.now() + delay;
  ctx.sendAfter(delay, { t: "redial", key } satisfies Info);
}

function reached(s: CtlState, until: Milestone): boolean {
  const phase = phaseOf(s.machine.getSnapshot());
  switch (until) {
    case "checked":
      return phase !== "checking";
    case "complete":
      return phase === "seeding";
    default:
      return assertNever(until, "milestone");
  }
}

function answerWaiters(s: CtlState, ctx: Ctx): void {
  const stats = statsOf(s);
  const still = s.waiting.filter((w) => !reached(s, w.until));
  for (const w of s.waiting) if (reached(s, w.until)) ctx.replyTo(w.from, stats);
  s.waiting.splice(0, s.waiting.length, ...still);
}

function statsOf(s: CtlState): TorrentStats {
  return {
    infoHash: s.ts.infoHashHex,
    phase: phaseOf(s.machine.getSnapshot()),
    pieces: s.ts.meta.pieceCount,
    have: s.ts.have.count,
    bytes: s.ts.meta.length,
    counters: { ...s.ts.counters },
    peers: s.byPid.size,
    checkedBytes: s.checkedBytes,
    startup: s.startup,
    banned: [...s.ts.banned],
    strikes: Object.fromEntries(s.ts.strikes),
  };
}

// ---- API ---------------------------------------------------------------------------------

export function startTorrentCtl(args: TorrentCtlArgs, runtime?: Runtime): Promise<StartResult> {
  return startServer(torrentCtlBehaviour, args, { name: names.torrentCtl(args.state.infoHashHex), ...(runtime === undefined ? {} : { runtime }) });
}

export const torrentCtl = {
  stats: (rt: Runtime, ih: string): Promise<TorrentStats> => rt.call<TorrentStats>(names.torrentCtl(ih), { t: "stats" } satisfies Call),
  /** Resolves when the milestone is reached (at once if it already was). */
  await: (rt: Runtime, ih: string, until: Milestone, timeoutMs = Infinity): Promise<TorrentStats> =>
    rt.call<TorrentStats>(names.torrentCtl(ih), { t: "await", until } satisfies Call, timeoutMs),
  addPeers: (rt: Runtime, ih: string, peers: readonly PeerAddress[]): void => rt.cast(names.torrentCtl(ih), { t: "addPeers", peers } satisfies Cast),
};
