/**
 * `swarmsup swarm`, the job: a payload, an embedded tracker, one seed and N nodes (in this
 * process or each in its own), chaos as the spec says, a wait for every node (bounded),
 * then the invariants (invariants.ts) judged over what the members reported and what is on
 * disk. The run's temporary directory is removed at the end, whatever happened.
 *
 * Order of events: payload and .torrent -> tracker -> seed (ready once its check found
 * every piece) -> t0 -> every node started at once -> crash schedule (process mode) ->
 * every node complete, or the timeout -> every member stopped (final reports) -> tracker
 * stopped -> sha256 of every member's files -> verdicts. Times in the report are from t0.
 *
 * Replay: every random choice (the payload aside) comes from --seed: which nodes lie, which
 * processes crash, each member's kill and link-fault schedule, each liar's lies.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { formatChaosSpec, lyingNodeCount, type ChaosEvent, type ChaosSpec } from "./chaosSpec.js";
import type { DataLocation } from "../storage/dataPath.js";
import type { Fleet, MemberHandle } from "./fleet.js";
import { judgeRun, type InvariantVerdict, type MemberFacts, type MemoryScope } from "./invariants.js";
import { MemberLedger } from "./ledger.js";
import type { NodeFinal, NodePlan, NodeReport } from "./messages.js";
import { checkIntegrity, checkResume, flipByte, preparePayload, type Payload, type PayloadSource } from "./payload.js";
import { members, pickNodes, subSeed, type Member } from "./topology.js";
import { startEmbeddedTracker } from "./tracker.js";

export interface SwarmConfig {
  readonly nodes: number;
  readonly payload: PayloadSource;
  readonly pieceLength: number | undefined;
  readonly chaos: ChaosSpec;
  readonly seed: number;
  readonly timeoutSeconds: number;
  /** Read every piece back as it is marked have (haveAfterWrite). */
  readonly audit: boolean;
  /** JSON lines of the run's chaos events, for replay and study. */
  readonly record: string | undefined;
  /** Test only: flip a byte in node1's data after the run, so `integrity` must break. */
  readonly sabotage: boolean;
  readonly progressMs: number;
}

/** Smart ban's threshold in piece_mgr (banAfter default). */
export const BAN_AFTER = 2;
const MiB = 1024 * 1024;
/** Process mode: each node process's peak RSS stays under this. */
export const NODE_RSS_BOUND = 300 * MiB;
/** In-process mode: the one process's peak RSS stays under this (a base plus a share per member). */
export function inProcessRssBound(members: number): number {
  // Per member: piece_mgr's 64 MiB in flight and its 16 MiB buffer pool.
  return 400 * MiB + members * 80 * MiB;
}
const KEPT_EVENTS = 100_000;

export interface RecordedEvent {
  /** Milliseconds since t0 (the parent's clock). */
  readonly atMs: number;
  readonly event: ChaosEvent;
}

export interface MemberOutcome {
  readonly member: Member;
  readonly ledger: MemberLedger;
  readonly liar: boolean;
  readonly facts: MemberFacts;
}

export interface SwarmOutcome {
  readonly config: SwarmConfig;
  readonly mode: Fleet["mode"];
  readonly meta: Payload["meta"];
  readonly members: readonly MemberOutcome[];
  /** t0 to the last node complete (or to the timeout). */
  readonly seconds: number;
  readonly totalSeconds: number;
  readonly allComplete: boolean;
  readonly events: readonly RecordedEvent[];
  readonly eventCount: number;
  readonly verdicts: readonly InvariantVerdict[];
  /** Things that went wrong outside the invariants (a member that failed or would not stop). */
  readonly failures: readonly string[];
  readonly interruptedBy: string | undefined;
  readonly memory: MemoryScope;
  readonly memoryBoundBytes: number;
  /** CPU (user + system) of this, the coordinating process, from t0 to the last node complete. */
  readonly coordinatorCpuSeconds: number;
}

export interface RunDeps {
  readonly fleet: Fleet;
  /** done and total bytes over the nodes, as reports arrive. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Settles when the user interrupts (SIGINT/SIGTERM): the run stops its members, cleans up and fails. */
  readonly interrupted?: Promise<string>;
}

interface Live {
  readonly member: Member;
  readonly ledger: MemberLedger;
  readonly plan: NodePlan;
  readonly location: DataLocation;
  handle: MemberHandle | undefined;
  /** Complete in its current process (reset by a crash). */
  completeNow: boolean;
}

export async function runSwarm(config: SwarmConfig, deps: RunDeps): Promise<SwarmOutcome> {
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), "swarmsup-swarm-"));
  const tracker = await startEmbeddedTracker().catch(async (error: unknown) => {
    await rm(root, { recursive: true, force: true });
    throw error;
  });
  try {
    const payload = await preparePayload(config.payload, join(root, "seed"), tracker.announce, config.pieceLength);
    return await swarm(config, deps, root, payload, started);
  } finally {
    await tracker.stop();
    await rm(root, { recursive: true, force: true });
  }
}

async function swarm(config: SwarmConfig, deps: RunDeps, root: string, payload: Payload, started: number): Promise<SwarmOutcome> {
  const { meta } = payload;
  const { chaos, seed } = config;
  const liars = new Set(chaos.corrupt === undefined ? [] : pickNodes(config.nodes, lyingNodeCount(chaos.corrupt.nodeShare, config.nodes), subSeed(seed, 0, "pickLiars")));
  const memberChaos = formatChaosSpec({ kills: chaos.kills, net: chaos.net, corrupt: undefined, crashNode: undefined });
  const live: Live[] = members(config.nodes).map((member) => {
    const location: DataLocation = member.role === "seed" ? { kind: "dataPath", path: payload.seedPath } : { kind: "downloadDir", dir: join(root, "nodes", member.label) };
    const plan: NodePlan = {
      label: member.label,
      role: member.role,
      host: member.host,
      port: 0,
      proxyPort: 0,
      torrentFile: payload.torrentFile,
      data: location.kind === "dataPath" ? location.path : location.dir,
      chaos: memberChaos,
      killSeed: subSeed(seed, member.index, "kills"),
      netSeed: subSeed(seed, member.index, "net"),
      corrupt: chaos.corrupt !== undefined && liars.has(member.index) ? { probability: chaos.corrupt.probability, seed: subSeed(seed, member.index, "corrupt") } : undefined,
      audit: config.audit,
      progressMs: config.progressMs,
    };
    return { member, ledger: new MemberLedger(member), plan, location, handle: undefined, completeNow: false };
  });
  const [seedMember, ...nodes] = live as [Live, ...Live[]];

  let t0 = Date.now();
  const since = (): number => Date.now() - t0;
  const events: RecordedEvent[] = [];
  let eventCount = 0;
  const failures: string[] = [];
  let interruptedBy: string | undefined;
  const record = (event: ChaosEvent): void => {
    eventCount++;
    if (events.length < KEPT_EVENTS) events.push({ atMs: since(), event });
  };
  let wake: () => void = () => undefined;
  const totalBytes = nodes.length * meta.length;
  const progress = (): void => {
    if (deps.onProgress === undefined) return;
    let done = 0;
    for (const l of nodes) done += Math.min(meta.length, (l.ledger.last?.have ?? 0) * meta.pieceLength);
    deps.onProgress(done, totalBytes);
  };
  const onReport = (l: Live) => (r: NodeReport): void => {
    switch (r.t) {
      case "ready":
        return;
      case "progress":
        l.ledger.sample(r.sample, since());
        progress();
        return;
      case "complete":
        l.ledger.complete(r.sample, since());
        l.completeNow = true;
        progress();
        wake();
        return;
      case "chaos":
        l.ledger.chaosEvent(r.event.kind === "kill" ? `kill:${r.event.actor}` : r.event.kind);
        record(r.event);
        return;
      case "restarted":
        l.ledger.restarted(r.childId, r.cause);
        return;
      case "restartFailed":
        l.ledger.restartFailed(r.childId);
        return;
      case "escalated":
        l.ledger.escalations++;
        return;
      case "killed":
        l.ledger.killed(r.behaviour);
        return;
      case "final":
        return; // taken from stop()'s result
      case "failed":
        failures.push(`${l.member.label}: ${r.message}`);
        wake();
        return;
      default: {
        const never: never = r;
        throw new Error(`unknown report ${JSON.stringify(never)}`);
      }
    }
  };
  const start = async (l: Live, plan: NodePlan): Promise<void> => {
    l.ledger.newIncarnation();
    l.completeNow = false;
    l.handle = await deps.fleet.start(plan, onReport(l));
  };

  const finals = new Map<Live, NodeFinal>();
  let allComplete = false;
  let seconds = 0;
  let cpuAtT0 = process.cpuUsage();
  let coordinatorCpuSeconds = 0;
  try {
    await start(seedMember, seedMember.plan);
    void deps.interrupted?.then((signal) => {
      interruptedBy = signal;
      failures.push(`interrupted by ${signal}`);
      wake();
    });
    await until(() => seedMember.completeNow || failures.length > 0, config.timeoutSeconds * 1000, (w) => (wake = w));
    if (!seedMember.completeNow) throw new Error(failures[0] ?? `the seed did not finish its check within ${config.timeoutSeconds} s`);
    t0 = Date.now();
    cpuAtT0 = process.cpuUsage();
    const deadline = t0 + config.timeoutSeconds * 1000;
    await Promise.all(nodes.map((l) => start(l, l.plan)));
    const crashes = config.chaos.crashNode === undefined ? Promise.resolve() : crashSchedule(config, nodes, meta, deadline, start, record, since, failures);
    let crashesDone = false;
    void crashes.finally(() => {
      crashesDone = true;
      wake();
    });
    await until(() => (crashesDone && nodes.every((l) => l.completeNow)) || failures.length > 0, deadline - Date.now(), (w) => (wake = w));
    allComplete = crashesDone && nodes.every((l) => l.completeNow);
    seconds = since() / 1000;
    const cpu = process.cpuUsage(cpuAtT0);
    coordinatorCpuSeconds = (cpu.user + cpu.system) / 1e6;
    await crashes;
  } finally {
    const stopping = live.map(async (l) => {
      try {
        const final = await l.handle?.stop();
        if (final !== undefined) {
          finals.set(l, final);
          l.ledger.finished(final, since());
        }
      } catch (error) {
        failures.push(`${l.member.label} did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    await Promise.all(stopping);
  }
  if (seconds === 0) seconds = since() / 1000;

  if (config.sabotage && nodes[0] !== undefined) await flipByte(meta, nodes[0].location);
  const outcomes: MemberOutcome[] = [];
  for (const l of live) {
    const final = finals.get(l);
    const integrity = await checkIntegrity(payload, l.location);
    outcomes.push({
      member: l.member,
      ledger: l.ledger,
      liar: liars.has(l.member.index),
      facts: {
        label: l.member.label,
        role: l.member.role,
        host: l.member.host,
        have: l.ledger.last?.have ?? 0,
        complete: l.member.role === "seed" || l.ledger.completeAtMs !== undefined,
        integrity,
        audited: l.ledger.audited,
        auditMismatches: l.ledger.auditMismatches,
        auditMismatchPieces: final?.audit.mismatches ?? [],
        dropCount: l.ledger.dropCount,
        drops: l.ledger.drops,
        fetchedBytes: l.ledger.fetchedBytes,
        crashes: l.ledger.crashes,
        banned: final?.banned ?? [],
        strikes: final?.strikes ?? [],
        peakRssBytes: l.ledger.peakRssBytes,
        escalations: l.ledger.escalations,
      },
    });
  }
  const memory: MemoryScope = deps.fleet.mode === "process" ? { kind: "perNodeProcess" } : { kind: "wholeProcess", peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  const memoryBoundBytes = deps.fleet.mode === "process" ? NODE_RSS_BOUND : inProcessRssBound(live.length);
  const verdicts = judgeRun({
    members: outcomes.map((o) => o.facts),
    pieces: meta.pieceCount,
    payloadBytes: meta.length,
    timeoutSeconds: config.timeoutSeconds,
    ...(interruptedBy === undefined ? {} : { interruptedBy }),
    audit: config.audit,
    liars: outcomes.filter((o) => o.liar).map((o) => o.member.host),
    banAfter: BAN_AFTER,
    memory,
    memoryBoundBytes,
  });
  const outcome: SwarmOutcome = {
    config,
    mode: deps.fleet.mode,
    meta,
    members: outcomes,
    seconds,
    totalSeconds: (Date.now() - started) / 1000,
    allComplete,
    events,
    eventCount,
    verdicts,
    failures,
    interruptedBy,
    memory,
    memoryBoundBytes,
    coordinatorCpuSeconds,
  };
  if (config.record !== undefined) await writeRecord(config.record, outcome);
  return outcome;
}

/** Resolves when `done()` holds (checked whenever `wake` is called), or after `ms`. */
async function until(done: () => boolean, ms: number, setWake: (wake: () => void) => void): Promise<void> {
  if (done()) return;
  const abort = new AbortController();
  await new Promise<void>((resolve) => {
    setWake(() => {
      if (done()) resolve();
    });
    sleep(Math.max(0, ms), undefined, { signal: abort.signal }).then(resolve, () => undefined);
  });
  abort.abort();
  setWake(() => undefined);
}

/**
 * Process mode: SIGKILL `count` nodes (picked by the seed) `afterMs` after t0, look at what
 * each left on disk (resume file against data), and start each again on the same
 * directories and ports after `restartDelayMs`.
 */
async function crashSchedule(
  config: SwarmConfig,
  nodes: readonly Live[],
  meta: Payload["meta"],
  deadline: number,
  start: (l: Live, plan: NodePlan) => Promise<void>,
  record: (event: ChaosEvent) => void,
  since: () => number,
  failures: string[],
): Promise<void> {
  const crash = config.chaos.crashNode;
  if (crash === undefined) return;
  const victims = pickNodes(nodes.length, crash.count, subSeed(config.seed, 0, "pickCrashes")).map((i) => nodes[i - 1] as Live);
  await sleep(Math.max(0, Math.min(crash.afterMs, deadline - Date.now())));
  await Promise.all(
    victims.map(async (l) => {
      const handle = l.handle;
      if (handle === undefined) return;
      const haveBefore = l.ledger.maxHave;
      await handle.crash();
      l.handle = undefined;
      l.completeNow = false;
      record({ t: since(), kind: "crashNode", node: l.member.label });
      l.ledger.chaosEvent("crashNode");
      const resume = await checkResume(meta, l.location);
      l.ledger.crashes.push({ atMs: since(), haveBefore, resume });
      await sleep(Math.max(0, Math.min(crash.restartDelayMs, deadline - Date.now())));
      try {
        await start(l, { ...l.plan, port: handle.port, proxyPort: handle.proxyPort ?? 0 });
        record({ t: since(), kind: "restartNode", node: l.member.label });
        l.ledger.chaosEvent("restartNode");
      } catch (error) {
        failures.push(`${l.member.label} did not come back after its crash: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
}

async function writeRecord(file: string, o: SwarmOutcome): Promise<void> {
  const header = {
    run: { seed: o.config.seed, chaos: formatChaosSpec(o.config.chaos), mode: o.mode, nodes: o.config.nodes, bytes: o.meta.length, pieceLength: o.meta.pieceLength },
    liars: o.members.filter((m) => m.liar).map((m) => m.member.label),
    events: o.eventCount,
  };
  const lines = [JSON.stringify(header), ...o.events.map((e) => JSON.stringify({ atMs: e.atMs, ...e.event }))];
  await writeFile(file, `${lines.join("\n")}\n`);
}
