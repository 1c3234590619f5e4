/**
 * choker: one per node, registered "choker", a child of swarmsup_sup (etorrent's
 * etorrent_choker). It decides which peers of each torrent we upload to.
 *
 * What it guarantees:
 * - Every `rechokeMs` (10 s) each torrent is rechoked (actors/choker/rechoke.ts: regular
 *   slots by rate, one optimistic unchoke kept `optimisticMs`, then rotated), on the
 *   runtime's clock. A peer's interest changing rechokes its torrent at once, so a newly
 *   interested peer never waits a round for a free slot. New rates and snubs count at the
 *   next round (a rate moves with every block; ranking on each report would churn slots).
 * - It monitors every peer that reports: a DOWN removes the peer's row, and if that peer
 *   held a slot its torrent is rechoked at once (the slot is given away now, not in 10 s).
 *   Its memory is one row per live peer and one entry per torrent with live peers.
 * - Peers are told changes only (choke / unchoke when their state must change). What a
 *   peer does at registration is adopted, so a restarted choker starts from the truth.
 * - A malformed report is logged and dropped: it cannot poison every ranking.
 *
 * Its decisions are pure (rechoke.ts) and this file executes them: sends the commands,
 * remembers the optimistic slot, keeps each torrent's last verdict for `status`.
 */
import {
  DownMsg,
  assertNever,
  defineServer,
  noreply,
  ok,
  reply,
  startServer,
  type Ctx,
  type Pid,
  type Runtime,
  type StartResult,
} from "../src/runtime/index.js";
import { log } from "../src/log.js";
import { chokerConfig, type ChokerConfig, type ChokerOptions, type Profile, type RechokeCause, type RechokeEvent } from "./choker/config.js";
import { CHOKE, CHOKER, UNCHOKE, checkReport, type ChokerCommand, type PeerReport } from "./choker/messages.js";
import { rechoke, type OptimisticSlot, type PeerStats, type RechokeVerdict, type TorrentMode } from "./choker/rechoke.js";

export { CHOKER } from "./choker/messages.js";
export type { ChokerCommand, PeerReport } from "./choker/messages.js";
export type { ChokerOptions, Profile, RechokeCause, RechokeEvent } from "./choker/config.js";

interface Row extends PeerStats {
  readonly pid: Pid;
  readonly infoHash: string;
  interested: boolean;
  snubbed: boolean;
  downRate: number;
  upRate: number;
  activeSince: number;
  unchoked: boolean;
}

interface TorrentEntry {
  mode: TorrentMode;
  optimistic: OptimisticSlot | undefined;
  readonly peers: Set<number>;
  last: RechokeEvent | undefined;
}

interface ChokerState {
  readonly config: ChokerConfig;
  readonly rows: Map<number, Row>;
  readonly torrents: Map<string, TorrentEntry>;
}

const ROUND = Object.freeze({ t: "round" as const });

type Info = DownMsg | typeof ROUND;
type Call = { readonly t: "status" };

export interface ChokerPeerView extends PeerStats {
  readonly infoHash: string;
}

export interface ChokerTorrentView {
  readonly infoHash: string;
  readonly mode: TorrentMode;
  readonly optimistic: OptimisticSlot | undefined;
  readonly peers: readonly ChokerPeerView[];
  readonly last: RechokeEvent | undefined;
}

export interface ChokerStatus {
  readonly profile: Profile;
  readonly uploadSlots: number;
  readonly torrents: readonly ChokerTorrentView[];
}

export const chokerBehaviour = defineServer<ChokerState, ChokerOptions, Call, PeerReport, Info>({
  name: "choker",

  init(options, ctx) {
    const config = chokerConfig(options);
    ctx.sendInterval(config.rechokeMs, ROUND);
    return ok({ config, rows: new Map(), torrents: new Map() });
  },

  handleCall(req, _from, s) {
    switch (req.t) {
      case "status":
        return reply(status(s), s);
      default:
        return assertNever(req.t, "choker call");
    }
  },

  handleCast(msg, s, ctx) {
    const check = checkReport(msg);
    switch (check.kind) {
      case "invalid":
        log.warn({ field: check.field, detail: check.detail }, "choker: malformed peer report dropped");
        break;
      case "valid":
        onReport(s, check.report, ctx);
        break;
      default:
        return assertNever(check, "report check");
    }
    return noreply(s);
  },

  handleInfo(msg, s, ctx) {
    if (msg instanceof DownMsg) {
      onPeerDown(s, msg.pid, ctx);
      return noreply(s);
    }
    switch (msg.t) {
      case "round":
        for (const ih of s.torrents.keys()) rechokeTorrent(s, ih, "round", ctx);
        return noreply(s);
      default:
        return assertNever(msg.t, "choker info");
    }
  },
});

function onReport(s: ChokerState, r: PeerReport, ctx: Ctx): void {
  const row = s.rows.get(r.pid.id);
  if (row === undefined) {
    register(s, r, ctx);
    if (r.interested) rechokeTorrent(s, r.infoHash, "interest", ctx);
    return;
  }
  if (row.infoHash !== r.infoHash) {
    log.warn({ peer: r.key, was: row.infoHash, now: r.infoHash }, "choker: a peer reported for another torrent; report dropped");
    return;
  }
  const interestChanged = row.interested !== r.interested;
  row.interested = r.interested;
  row.snubbed = r.snubbed;
  row.downRate = r.downRate;
  row.upRate = r.upRate;
  row.activeSince = r.activeSince;
  const torrent = s.torrents.get(r.infoHash);
  if (torrent !== undefined) torrent.mode = r.mode;
  if (interestChanged) rechokeTorrent(s, r.infoHash, "interest", ctx);
}

function register(s: ChokerState, r: PeerReport, ctx: Ctx): void {
  ctx.monitor(r.pid);
  s.rows.set(r.pid.id, {
    id: r.pid.id,
    pid: r.pid,
    key: r.key,
    infoHash: r.infoHash,
    interested: r.interested,
    snubbed: r.snubbed,
    downRate: r.downRate,
    upRate: r.upRate,
    activeSince: r.activeSince,
    unchoked: r.unchoked,
  });
  let torrent = s.torrents.get(r.infoHash);
  if (torrent === undefined) {
    torrent = { mode: r.mode, optimistic: undefined, peers: new Set(), last: undefined };
    s.torrents.set(r.infoHash, torrent);
  }
  torrent.mode = r.mode;
  torrent.peers.add(r.pid.id);
  tell(ctx, r.pid, { type: "reportEvery", ms: s.config.reportMs });
}

function onPeerDown(s: ChokerState, pid: Pid, ctx: Ctx): void {
  const row = s.rows.get(pid.id);
  if (row === undefined) return;
  s.rows.delete(pid.id);
  const torrent = s.torrents.get(row.infoHash);
  if (torrent === undefined) return;
  torrent.peers.delete(pid.id);
  if (torrent.peers.size === 0) {
    s.torrents.delete(row.infoHash);
    return;
  }
  if (row.unchoked) rechokeTorrent(s, row.infoHash, "peerGone", ctx);
}

function rechokeTorrent(s: ChokerState, ih: string, cause: RechokeCause, ctx: Ctx): void {
  const torrent = s.torrents.get(ih);
  if (torrent === undefined) return;
  const peers: Row[] = [];
  for (const id of torrent.peers) {
    const row = s.rows.get(id);
    if (row !== undefined) peers.push(row);
  }
  const now = ctx.runtime.clock.now();
  const verdict = rechoke({ infoHash: ih, mode: torrent.mode, peers, optimistic: torrent.optimistic }, now, s.config.random, s.config);
  execute(s, torrent, verdict, ctx);
  const event: RechokeEvent = { cause, verdict };
  torrent.last = event;
  if (verdict.unchoke.length > 0 || verdict.choke.length > 0) {
    log.debug({ infoHash: ih, cause, unchoke: verdict.unchoke.map((u) => u.key), choke: verdict.choke.map((c) => c.key) }, "rechoke");
  }
  observe(s.config, event);
}

function execute(s: ChokerState, torrent: TorrentEntry, v: RechokeVerdict, ctx: Ctx): void {
  for (const u of v.unchoke) {
    const row = s.rows.get(u.id);
    if (row === undefined) continue;
    row.unchoked = true;
    tell(ctx, row.pid, UNCHOKE);
  }
  for (const c of v.choke) {
    const row = s.rows.get(c.id);
    if (row === undefined) continue;
    row.unchoked = false;
    tell(ctx, row.pid, CHOKE);
  }
  const o = v.optimistic;
  switch (o.kind) {
    case "none":
      torrent.optimistic = undefined;
      break;
    case "kept":
    case "drawn":
      torrent.optimistic = { id: o.id, since: o.since };
      break;
    default:
      assertNever(o, "optimistic verdict");
  }
}

function tell(ctx: Ctx, pid: Pid, command: ChokerCommand): void {
  ctx.send(pid, command);
}

function observe(config: ChokerConfig, event: RechokeEvent): void {
  if (config.onRechoke === undefined) return;
  try {
    config.onRechoke(event);
  } catch (error) {
    log.warn({ error: error instanceof Error ? error.message : String(error) }, "choker: rechoke observer threw");
  }
}

function status(s: ChokerState): ChokerStatus {
  const torrents: ChokerTorrentView[] = [];
  for (const [infoHash, t] of s.torrents) {
    const peers: ChokerPeerView[] = [];
    for (const id of t.peers) {
      const r = s.rows.get(id);
      if (r === undefined) continue;
      peers.push({ id, key: r.key, infoHash, interested: r.interested, snubbed: r.snubbed, downRate: r.downRate, upRate: r.upRate, activeSince: r.activeSince, unchoked: r.unchoked });
    }
    torrents.push({ infoHash, mode: t.mode, optimistic: t.optimistic, peers, last: t.last });
  }
  return { profile: s.config.profile, uploadSlots: s.config.uploadSlots, torrents };
}

// ---- API ------------------------------------------------------------------------------

/** Started by swarmsup_sup (linked to it); `runtime` only when started from outside any actor (tests). */
export function startChoker(options: ChokerOptions = {}, runtime?: Runtime): Promise<StartResult> {
  // Checked here too, so a bad option is the caller's error, not a failed start.
  try {
    chokerConfig(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return startServer(chokerBehaviour, options, { name: CHOKER, ...(runtime === undefined ? {} : { runtime }) });
}

export const choker = {
  /** A peer's report (see actors/choker/messages.ts); a no-op when no choker runs. */
  report: (ctx: Ctx, report: Omit<PeerReport, "t" | "pid">): void => ctx.cast(CHOKER, { t: "report", pid: ctx.self, ...report } satisfies PeerReport),
  /** The table and each torrent's last verdict. */
  status: (runtime: Runtime, timeoutMs?: number): Promise<ChokerStatus> => runtime.call<ChokerStatus>(CHOKER, { t: "status" } satisfies Call, timeoutMs),
  /** Whether this node runs a choker (else a peer decides alone: see actors/peer/unchokePolicy.ts). */
  running: (ctx: Ctx): boolean => ctx.runtime.whereis(CHOKER) !== undefined,
};
