/**
 * What a swarm run prints: the text report for people and the `--json` summary (CLI.md's
 * fields first, then more). Pure: built from the run's outcome.
 */
import { formatChaosSpec } from "./chaosSpec.js";
import type { InvariantVerdict } from "./invariants.js";
import type { CrashCheck } from "./ledger.js";
import type { MemberOutcome, SwarmOutcome } from "./run.js";

const MiB = 1024 * 1024;

export interface PerNodeSummary {
  readonly node: string;
  readonly role: "seed" | "leech";
  readonly host: string;
  /** From t0 to complete (the seed: 0); null if it never completed. */
  readonly seconds: number | null;
  readonly downloaded: number;
  readonly uploaded: number;
  /** Its share of all bytes uploaded in the swarm. */
  readonly uploadShare: number;
  readonly hashFails: number;
  readonly restarts: number;
  readonly restartsByChild: Readonly<Record<string, number>>;
  /** Restart attempts whose start failed, by child (e.g. killed during its init): each was retried. */
  readonly failedRestartsByChild: Readonly<Record<string, number>>;
  /** Supervisors of its tree that reached their restart intensity. */
  readonly escalations: number;
  /** Chaos events on this member, by kind ("kill:io", "netReset", "crashNode", ...). */
  readonly chaos: Readonly<Record<string, number>>;
  /** Actors of its tree that exited `killed`, by behaviour (the runtime's own count). */
  readonly killedExits: Readonly<Record<string, number>>;
  readonly processes: number;
  /** Each SIGKILL of its process and what its resume file held then. */
  readonly crashes: readonly CrashCheck[];
  readonly liar: boolean;
  readonly banned: readonly string[];
  readonly bannedBy: readonly string[];
  /** Smart-ban strikes this member gave, by the member struck. */
  readonly strikes: Readonly<Record<string, number>>;
  readonly peakRssMb: number;
  /** CPU (user + system) of its (last) process until it stopped; in-process mode: the shared process's. */
  readonly cpuSeconds: number;
}

export interface SwarmSummary {
  readonly nodes: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly allComplete: boolean;
  readonly integrity: "ok" | "failed";
  readonly restarts: number;
  readonly killed: number;
  readonly perNode: readonly PerNodeSummary[];
  readonly mode: string;
  readonly seed: number;
  readonly chaos: string;
  readonly pieceLength: number;
  readonly pieces: number;
  readonly totalSeconds: number;
  readonly restartsByChild: Readonly<Record<string, number>>;
  readonly failedRestartsByChild: Readonly<Record<string, number>>;
  readonly escalations: number;
  readonly chaosEvents: { readonly total: number; readonly byKind: Readonly<Record<string, number>> };
  readonly memory: { readonly scope: string; readonly boundMb: number; readonly peakMb: number };
  readonly invariants: readonly { readonly name: string; readonly held: boolean; readonly evidence: string }[];
  readonly failures: readonly string[];
  /**
   * CPU spent moving the payload, the way a libtorrent swarm is measured: the seed after its
   * start-up check, every node's (last) process until it stopped, and this coordinator
   * (tracker, reports) from t0 to the last node complete. A node process killed by
   * `crash:node` takes its CPU with it (only the last process of a member is counted).
   * Payload generation, the seed's check and the final sha256 checks are left out.
   * In-process mode: the one process from t0 to the last node complete.
   */
  readonly transferCpu: { readonly seconds: number; readonly perGiBDelivered: number };
}

function sumMaps(maps: Iterable<ReadonlyMap<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of m) out[k] = (out[k] ?? 0) + v;
  return out;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** CPU of the member's last process when it stopped (or at its last sample). */
function cpuSecondsOf(m: MemberOutcome): number {
  return (m.ledger.final?.sample.cpuMicros ?? m.ledger.last?.cpuMicros ?? 0) / 1e6;
}

function transferCpuOf(o: SwarmOutcome): SwarmSummary["transferCpu"] {
  let seconds = o.coordinatorCpuSeconds;
  if (o.mode === "process") {
    for (const m of o.members) {
      const checkEnd = m.member.role === "seed" ? (m.ledger.cpuAtCompleteMicros ?? 0) / 1e6 : 0;
      seconds += Math.max(0, cpuSecondsOf(m) - checkEnd);
    }
  }
  const deliveredGiB = (o.members.filter((m) => m.member.role === "leech").length * o.meta.length) / (1024 * MiB);
  return { seconds: round2(seconds), perGiBDelivered: deliveredGiB === 0 ? 0 : round2(seconds / deliveredGiB) };
}

const mb = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;

/** Counters of the member's last process (the swarm's bytes moved are what that process saw). */
function counters(m: MemberOutcome): { downloaded: number; uploaded: number; hashFails: number } {
  const s = m.ledger.final?.sample ?? m.ledger.last;
  return { downloaded: m.ledger.fetchedBytes, uploaded: s?.uploaded ?? 0, hashFails: s?.hashFails ?? 0 };
}

export function summarize(o: SwarmOutcome): SwarmSummary {
  const totalUp = o.members.reduce((n, m) => n + counters(m).uploaded, 0);
  const byHost = new Map(o.members.map((m) => [m.member.host, m.member.label]));
  const perNode = o.members.map((m): PerNodeSummary => {
    const c = counters(m);
    return {
      node: m.member.label,
      role: m.member.role,
      host: m.member.host,
      seconds: m.member.role === "seed" ? 0 : m.ledger.completeAtMs === undefined ? null : m.ledger.completeAtMs / 1000,
      downloaded: c.downloaded,
      uploaded: c.uploaded,
      uploadShare: totalUp === 0 ? 0 : c.uploaded / totalUp,
      hashFails: c.hashFails,
      restarts: m.ledger.restartTotal,
      restartsByChild: Object.fromEntries(m.ledger.restarts),
      failedRestartsByChild: Object.fromEntries(m.ledger.failedRestarts),
      escalations: m.ledger.escalations,
      chaos: Object.fromEntries(m.ledger.chaos),
      killedExits: Object.fromEntries(m.ledger.killedExits),
      processes: m.ledger.incarnations,
      crashes: m.ledger.crashes,
      liar: m.liar,
      banned: (m.facts.banned ?? []).map((h) => byHost.get(h) ?? h),
      bannedBy: o.members.filter((x) => x.facts.banned.includes(m.member.host)).map((x) => x.member.label),
      strikes: Object.fromEntries(m.facts.strikes.map((s) => [byHost.get(s.host) ?? s.host, s.strikes])),
      peakRssMb: mb(m.ledger.peakRssBytes),
      cpuSeconds: round2(cpuSecondsOf(m)),
    };
  });
  const byKind = sumMaps(o.members.map((m) => m.ledger.chaos));
  const killed = Object.entries(byKind).reduce((n, [k, v]) => (k.startsWith("kill:") || k === "crashNode" ? n + v : n), 0);
  const restartsByChild = sumMaps(o.members.map((m) => m.ledger.restarts));
  const peak = o.memory.kind === "wholeProcess" ? o.memory.peakRssBytes : Math.max(...o.members.map((m) => m.ledger.peakRssBytes));
  return {
    nodes: o.config.nodes,
    bytes: o.meta.length,
    seconds: round2(o.seconds),
    allComplete: o.allComplete,
    integrity: o.verdicts.some((v) => v.invariant === "integrity" && v.kind === "broken") ? "failed" : "ok",
    restarts: Object.values(restartsByChild).reduce((a, b) => a + b, 0),
    killed,
    perNode,
    mode: o.mode,
    seed: o.config.seed,
    chaos: formatChaosSpec(o.config.chaos),
    pieceLength: o.meta.pieceLength,
    pieces: o.meta.pieceCount,
    totalSeconds: round2(o.totalSeconds),
    restartsByChild,
    failedRestartsByChild: sumMaps(o.members.map((m) => m.ledger.failedRestarts)),
    escalations: perNode.reduce((n, p) => n + p.escalations, 0),
    chaosEvents: { total: o.eventCount, byKind },
    memory: { scope: o.memory.kind, boundMb: mb(o.memoryBoundBytes), peakMb: mb(peak) },
    invariants: o.verdicts.map((v) => ({ name: v.invariant, held: v.kind === "held", evidence: v.evidence })),
    failures: o.failures,
    transferCpu: transferCpuOf(o),
  };
}


/** The first thing that makes the run fail, as one line for stderr; undefined if it passed. */
export function failureLine(o: SwarmOutcome): string | undefined {
  if (o.interruptedBy !== undefined) return `interrupted by ${o.interruptedBy} after ${o.seconds.toFixed(1)} s; the run's files are removed`;
  const brokenOne = o.verdicts.find((v): v is Extract<InvariantVerdict, { kind: "broken" }> => v.kind === "broken");
  if (brokenOne !== undefined) return `invariant ${brokenOne.invariant} broken: ${brokenOne.evidence}`;
  const failure = o.failures[0];
  if (failure !== undefined) return failure;
  return undefined;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);
const list = (r: Readonly<Record<string, number>>): string =>
  Object.entries(r)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "none";

export function formatReport(s: SwarmSummary): string {
  const lines: string[] = [];
  const sizeMb = (s.bytes / MiB).toFixed(1);
  lines.push(`swarm: ${s.nodes} nodes + 1 seed, ${sizeMb} MiB in ${s.pieces} pieces of ${s.pieceLength / 1024} KiB, ${s.mode} mode, seed ${s.seed}`);
  const liars = s.perNode.filter((n) => n.liar).map((n) => n.node);
  lines.push(`chaos: ${s.chaos === "" ? "none" : s.chaos}${liars.length > 0 ? ` (liars: ${liars.join(", ")})` : ""}`);
  const done = s.perNode.filter((n) => n.role === "leech" && n.seconds !== null).length;
  lines.push(
    s.allComplete
      ? `all ${s.nodes} nodes complete in ${s.seconds.toFixed(1)} s (whole run ${s.totalSeconds.toFixed(1)} s); integrity ${s.integrity}`
      : `${done} of ${s.nodes} nodes complete after ${s.seconds.toFixed(1)} s; integrity ${s.integrity}`,
  );
  lines.push("");
  lines.push(
    [pad("node", 7), pad("host", 11), lpad("done s", 7), lpad("down MiB", 9), lpad("up MiB", 8), lpad("up %", 6), lpad("fails", 6), lpad("restarts", 9), lpad("RSS MiB", 8), "  banned"].join(" "),
  );
  for (const n of s.perNode) {
    lines.push(
      [
        pad(n.node + (n.liar ? "*" : ""), 7),
        pad(n.host, 11),
        lpad(n.seconds === null ? "-" : n.role === "seed" ? "seed" : n.seconds.toFixed(1), 7),
        lpad((n.downloaded / MiB).toFixed(1), 9),
        lpad((n.uploaded / MiB).toFixed(1), 8),
        lpad((n.uploadShare * 100).toFixed(1), 6),
        lpad(String(n.hashFails), 6),
        lpad(String(n.restarts) + (n.processes > 1 ? `/${n.processes}p` : ""), 9),
        lpad(n.peakRssMb.toFixed(0), 8),
        `  ${n.banned.length === 0 ? "-" : n.banned.join(",")}`,
      ].join(" "),
    );
  }
  if (liars.length > 0) lines.push("(* lies: serves a share of its blocks corrupted)");
  lines.push("");
  lines.push(`restarts by child: ${list(s.restartsByChild)}`);
  if (Object.keys(s.failedRestartsByChild).length > 0) lines.push(`failed restarts (a restart's start failed; retried): ${list(s.failedRestartsByChild)}`);
  lines.push(`chaos events: ${s.chaosEvents.total} (${list(s.chaosEvents.byKind)}); killed ${s.killed}`);
  const gaveUp = s.perNode.filter((n) => n.escalations > 0);
  if (gaveUp.length > 0) lines.push(`supervisors gave up (restart intensity): ${gaveUp.map((n) => `${n.node} ${n.escalations}`).join(", ")}`);
  for (const n of s.perNode.filter((x) => x.liar)) lines.push(`liar ${n.node} banned by ${n.bannedBy.length === 0 ? "nobody" : n.bannedBy.join(", ")}`);
  lines.push(`cpu moving the payload: ${s.transferCpu.seconds.toFixed(1)} s, ${s.transferCpu.perGiBDelivered.toFixed(2)} per GiB delivered (${s.mode === "process" ? "seed after its check + node processes + coordinator, t0 to all complete" : "the whole process, t0 to all complete"})`);
  lines.push(`memory: peak ${s.memory.peakMb.toFixed(0)} MiB RSS ${s.memory.scope === "perNodeProcess" ? "per node process" : "for the whole process"} (bound ${s.memory.boundMb.toFixed(0)} MiB)`);
  lines.push("invariants:");
  for (const v of s.invariants) lines.push(`  ${v.held ? "ok    " : "BROKEN"} ${pad(v.name, 20)} ${v.evidence}`);
  for (const f of s.failures) lines.push(`failure: ${f}`);
  return `${lines.join("\n")}\n`;
}
