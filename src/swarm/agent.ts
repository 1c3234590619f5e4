/**
 * One swarm member at work: a SwarmNode on its own Runtime with the run's torrent, the chaos
 * this member was given (a monkey killing its actors, a fault-injecting proxy in front of
 * its listener, lying uploads) and a stream of reports about it (messages.ts). The same code
 * runs in both modes: inside the parent process (in-process mode) or as the only node of a
 * `swarmsup swarm-node` child process (process mode).
 *
 * What it guarantees:
 * - `ready` is reported once the node listens and its torrent is added; `complete` once
 *   every piece is had (the seed: after its check), then it keeps serving until stopped.
 * - Every restart and escalation in its tree is reported as it happens (runtime events),
 *   and every chaos event as the chaos actors record it.
 * - `progress` every `plan.progressMs`: a cumulative sample (counters, have, audit, RSS), so
 *   a member killed without warning has reported all but its last interval.
 * - `stop` ends the timers, takes the last sample and the ban state, then stops the tree in
 *   order; it resolves with the final report and never throws for a torrent that is
 *   restarting (the last good sample stands in).
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { parseMetainfo } from "../protocol/metainfo.js";
import type { Metainfo } from "../protocol/types.js";
import { Reason, type Pid, type RuntimeEvent } from "../runtime/index.js";
import { SwarmNode } from "../node.js";
import { torrentCtl, type TorrentStats } from "../../actors/torrentCtl.js";
import type { DataLocation } from "../storage/dataPath.js";
import { PieceAuditor } from "./audit.js";
import { startChaosMonkey } from "../../actors/chaos.js";
import { startNetProxy } from "../../actors/chaos/netProxy.js";
import { parseChaosSpec, type ChaosEvent } from "./chaosSpec.js";
import type { NodeFinal, NodePlan, NodeReport, Sample } from "./messages.js";

export interface Agent {
  readonly node: SwarmNode;
  readonly meta: Metainfo;
  /** Stops the member; resolves with its final report. */
  stop(): Promise<NodeFinal>;
}

/** How long one wait for completion lasts before the agent looks whether it was stopped. */
const AWAIT_SLICE_MS = 2000;
/** Between asks while the torrent's controller is being restarted. */
const RETRY_MS = 100;

export async function startAgent(plan: NodePlan, emit: (report: NodeReport) => void): Promise<Agent> {
  const meta = parseMetainfo(await readFile(plan.torrentFile));
  const chaos = parseChaosSpec(plan.chaos);
  const auditor = plan.audit ? new PieceAuditor() : undefined;
  const node = await SwarmNode.start({
    host: plan.host,
    port: plan.port,
    label: plan.label,
    ...(plan.corrupt === undefined ? {} : { peerOptions: { corruptUploads: plan.corrupt } }),
    ...(auditor === undefined ? {} : { pieceAudit: auditor.audit }),
  });
  const unsubscribe = node.runtime.subscribe((e) => reportRuntimeEvent(e, emit));
  const record = (event: ChaosEvent): void => emit({ t: "chaos", event });
  const ih = meta.infoHashHex;
  // Started outside the node's tree, so they are stopped here (first: no kills while it stops).
  const chaosActors: Pid[] = [];
  let proxyPort: number | undefined;
  if (chaos.net !== undefined) {
    const proxy = await startNetProxy(node.runtime, {
      node: plan.label,
      listenHost: plan.host,
      listenPort: plan.proxyPort,
      targetHost: plan.host,
      targetPort: node.port,
      net: chaos.net,
      seed: plan.netSeed,
      record,
    });
    proxyPort = proxy.port;
    chaosActors.push(proxy.pid);
  }
  const location: DataLocation = plan.role === "seed" ? { kind: "dataPath", path: plan.data } : { kind: "downloadDir", dir: plan.data };
  await node.addTorrent({ meta, location, ...(proxyPort === undefined ? {} : { announcePort: proxyPort }) });
  if (chaos.kills.length > 0) chaosActors.push(await startChaosMonkey(node.runtime, { node: plan.label, infoHash: ih, kills: chaos.kills, seed: plan.killSeed, record }));
  emit({ t: "ready", port: node.port, proxyPort, pid: process.pid });

  let last: Sample | undefined;
  let stopped = false;
  // Samples are reported in the order their stats were taken: a reply that was overtaken by
  // a newer one (the completion's) is dropped, so counters never appear to go back (the
  // parent reads a smaller counter as a restarted torrent).
  let taken = 0;
  let reported = 0;
  const sampleNow = async (): Promise<Sample | undefined> => {
    const seq = ++taken;
    const stats = await node.stats(ih).catch(() => undefined); // restarting under its supervisor: next tick
    if (stats === undefined || seq <= reported) return undefined;
    reported = seq;
    last = sampleOf(stats, auditor);
    return last;
  };
  const ticker = setInterval(() => {
    void sampleNow().then((s) => {
      if (s !== undefined && !stopped) emit({ t: "progress", sample: s });
    });
  }, plan.progressMs);

  void (async () => {
    while (!stopped) {
      const stats = await torrentCtl.await(node.runtime, ih, "complete", AWAIT_SLICE_MS).catch(() => undefined);
      if (stopped) return;
      if (stats === undefined) {
        // No controller (restarting) answers at once: wait, or this loop would hold the
        // event loop in microtasks and starve every actor of the process.
        await sleep(RETRY_MS);
        continue;
      }
      reported = ++taken;
      last = sampleOf(stats, auditor);
      emit({ t: "complete", sample: last });
      return;
    }
  })();

  return {
    node,
    meta,
    async stop(): Promise<NodeFinal> {
      stopped = true;
      clearInterval(ticker);
      for (const pid of chaosActors) if (node.runtime.isAlive(pid)) await node.runtime.stop(pid, Reason.shutdown());
      const stats = await node.stats(ih).catch(() => undefined);
      const sample = stats === undefined ? last : sampleOf(stats, auditor);
      await node.stop();
      unsubscribe();
      if (sample === undefined) throw new Error(`${plan.label}: no stats were ever read from its torrent`);
      return {
        sample,
        banned: stats?.banned ?? [],
        strikes: Object.entries(stats?.strikes ?? {}).map(([host, strikes]) => ({ host, strikes })),
        audit: auditor?.result() ?? { checked: 0, mismatches: [], mismatchCount: 0 },
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      };
    },
  };
}

function sampleOf(stats: TorrentStats, auditor: PieceAuditor | undefined): Sample {
  const audit = auditor?.result();
  return {
    phase: stats.phase,
    have: stats.have,
    pieces: stats.pieces,
    downloaded: stats.counters.downloaded,
    uploaded: stats.counters.uploaded,
    hashFails: stats.counters.hashFails,
    wastedBlocks: stats.counters.wastedBlocks,
    peersSeen: stats.counters.peersSeen,
    rssBytes: process.memoryUsage.rss(),
    cpuMicros: cpuMicros(),
    audited: audit?.checked ?? 0,
    auditMismatches: audit?.mismatchCount ?? 0,
  };
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function reportRuntimeEvent(e: RuntimeEvent, emit: (report: NodeReport) => void): void {
  switch (e.type) {
    case "restarted":
      emit({ t: "restarted", childId: e.childId, cause: e.reason.kind });
      return;
    case "restartFailed":
      emit({ t: "restartFailed", childId: e.childId });
      return;
    case "escalated":
      emit({ t: "escalated", cause: e.cause });
      return;
    case "exited":
      if (e.reason.kind === "killed") emit({ t: "killed", behaviour: e.behaviour });
      return;
    case "spawned":
      return;
    default: {
      const never: never = e;
      throw new Error(`unknown runtime event ${JSON.stringify(never)}`);
    }
  }
}

