/**
 * bench:fanout's figures, pure: per client and N the all-done time T, p50/p99 node finish,
 * aggregate MiB/s (N x size / T), CPU-s per GiB delivered (N x size), the seed's upload share,
 * and efficiency = T_opt / T with T_opt = t + t*log2(N)/R (t: the measured pair transfer,
 * R: piece count) — the ideal pipelined fan-out, as in eBay's BitTornado study (0.24 at N = 16).
 */
import { fmt, quantile, sig3 } from "../actors/stats.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export type FanoutRun =
  | { readonly kind: "measured"; readonly finishSec: readonly number[]; readonly cpuSec: number; readonly seedUploadShare: number; readonly peakRssMiB: number; readonly cpuNote: string }
  | { readonly kind: "failed"; readonly reason: string };

export interface FanoutRow {
  readonly client: "swarmsup" | "libtorrent";
  /** With --rounds > 1: every round's all-done T and CPU-s/GiB, in run order (this row is the median round). */
  readonly rounds?: readonly { readonly allDoneSec: number; readonly cpuSecPerGiB: number }[];
  readonly nodes: number;
  readonly run: FanoutRun;
  readonly allDoneSec: number;
  readonly p50Sec: number;
  readonly p99Sec: number;
  readonly aggregateMiBps: number;
  readonly cpuSecPerGiB: number;
  readonly seedUploadShare: number;
  readonly optimalSec: number;
  readonly efficiency: number;
}

export function optimalSec(pairSec: number, nodes: number, pieces: number): number {
  return pairSec + (pairSec * Math.log2(nodes)) / pieces;
}

export function fanoutRow(client: FanoutRow["client"], nodes: number, run: FanoutRun, bytes: number, pieces: number, pairSec: number): FanoutRow {
  const opt = optimalSec(pairSec, nodes, pieces);
  if (run.kind === "failed") {
    return { client, nodes, run, allDoneSec: Number.NaN, p50Sec: Number.NaN, p99Sec: Number.NaN, aggregateMiBps: Number.NaN, cpuSecPerGiB: Number.NaN, seedUploadShare: Number.NaN, optimalSec: opt, efficiency: Number.NaN };
  }
  const allDone = Math.max(...run.finishSec);
  const delivered = nodes * bytes;
  return {
    client,
    nodes,
    run,
    allDoneSec: allDone,
    p50Sec: quantile(run.finishSec, 0.5),
    p99Sec: quantile(run.finishSec, 0.99),
    aggregateMiBps: delivered / MiB / allDone,
    cpuSecPerGiB: run.cpuSec / (delivered / GiB),
    seedUploadShare: run.seedUploadShare,
    optimalSec: opt,
    efficiency: opt / allDone,
  };
}

/**
 * One row for several rounds of one client and N: the measured round whose all-done time is
 * the median (the lower middle of an even count), carrying every round's T and CPU; a failed
 * row only if no round was measured (a failure is then the first one's).
 */
export function medianRound(rounds: readonly FanoutRow[]): FanoutRow {
  const measured = rounds.filter((r) => r.run.kind === "measured").sort((a, b) => a.allDoneSec - b.allDoneSec);
  const pick = measured[Math.floor((measured.length - 1) / 2)] ?? rounds[0];
  if (pick === undefined) throw new Error("medianRound: no rounds");
  return rounds.length === 1 ? pick : { ...pick, rounds: rounds.map((r) => ({ allDoneSec: r.allDoneSec, cpuSecPerGiB: r.cpuSecPerGiB })) };
}

export function formatRows(rows: readonly FanoutRow[]): string {
  const out = [
    "| client | N | all done T (s) | p50 / p99 node (s) | aggregate MiB/s | CPU-s/GiB delivered | seed upload share | T_opt (s) | efficiency T_opt/T | peak RSS/process (MiB) |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const rss = r.run.kind === "measured" ? fmt(r.run.peakRssMiB, 0) : `FAILED: ${r.run.reason}`;
    out.push(`| ${r.client} | ${r.nodes} | ${fmt(r.allDoneSec, 2)} | ${fmt(r.p50Sec, 2)} / ${fmt(r.p99Sec, 2)} | ${fmt(r.aggregateMiBps)} | ${fmt(r.cpuSecPerGiB, 2)} | ${fmt(r.seedUploadShare * 100)}% | ${fmt(r.optimalSec, 2)} | ${fmt(r.efficiency, 3)} | ${rss} |`);
  }
  return out.join("\n");
}

export interface FanoutCheck {
  readonly name: string;
  readonly target: string;
  readonly value: number;
  readonly pass: boolean;
}

/** Targets: all-done at the largest N <= 0.8x libtorrent's; fewer CPU-s/GiB than libtorrent at every N. */
export function checkFanout(rows: readonly FanoutRow[], nodeCounts: readonly number[]): FanoutCheck[] {
  const find = (client: FanoutRow["client"], n: number): FanoutRow | undefined => rows.find((r) => r.client === client && r.nodes === n);
  const checks: FanoutCheck[] = [];
  const largest = Math.max(...nodeCounts);
  const own = find("swarmsup", largest);
  const ref = find("libtorrent", largest);
  const ratio = own !== undefined && ref !== undefined ? own.allDoneSec / ref.allDoneSec : Number.NaN;
  checks.push({ name: `all-done time at N=${largest}, swarmsup / libtorrent`, target: "<= 0.8", value: ratio, pass: ratio <= 0.8 });
  for (const n of nodeCounts) {
    const a = find("swarmsup", n)?.cpuSecPerGiB ?? Number.NaN;
    const b = find("libtorrent", n)?.cpuSecPerGiB ?? Number.NaN;
    checks.push({ name: `CPU-s/GiB at N=${n}, swarmsup / libtorrent`, target: "< 1", value: a / b, pass: a < b });
  }
  return checks;
}

export function formatChecks(checks: readonly FanoutCheck[]): string {
  return checks.map((c) => `${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${fmt(c.value, 2)} (target ${c.target})`).join("\n");
}

export function jsonRow(r: FanoutRow): Record<string, unknown> {
  return {
    client: r.client,
    nodes: r.nodes,
    ...(r.run.kind === "failed" ? { failed: r.run.reason } : { peakRssMiB: sig3(r.run.peakRssMiB), cpuSec: sig3(r.run.cpuSec), cpuNote: r.run.cpuNote, finishSec: r.run.finishSec.map(sig3) }),
    allDoneSec: sig3(r.allDoneSec),
    p50Sec: sig3(r.p50Sec),
    p99Sec: sig3(r.p99Sec),
    aggregateMiBps: sig3(r.aggregateMiBps),
    cpuSecPerGiB: sig3(r.cpuSecPerGiB),
    seedUploadShare: sig3(r.seedUploadShare),
    optimalSec: sig3(r.optimalSec),
    efficiency: sig3(r.efficiency),
    ...(r.rounds === undefined ? {} : { rounds: r.rounds.map((x) => ({ allDoneSec: sig3(x.allDoneSec), cpuSecPerGiB: sig3(x.cpuSecPerGiB) })) }),
  };
}
