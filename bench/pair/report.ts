/**
 * What bench:pair prints: per pair the median of its rounds (peak RSS: the largest round,
 * since a peak is a limit), the ratio to the libtorrent -> libtorrent reference, the targets
 * with PASS/FAIL, and the figures for the JSON line. A pair with any failed round fails.
 */
import { fmt, median, sig3 } from "../actors/stats.js";
import type { PairDef, PairOutcome } from "./pairs.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const TARGETS = {
  speedVsReference: 1.2,
  downloaderCpuSecPerGiB: 3,
  swarmsupPeakRssMiB: 300,
} as const;

export interface PairSummary {
  readonly pair: string;
  readonly seed: string;
  readonly downloader: string;
  readonly measuredRounds: number;
  readonly failures: readonly string[];
  readonly mibps: number;
  readonly mibpsRounds: readonly number[];
  readonly ratioToReference: number;
  readonly wallSec: number;
  /** swarmsup get's own `seconds`, when the downloader is swarmsup. */
  readonly selfReportedSec: number | undefined;
  readonly downloaderCpuSecPerGiB: number;
  readonly downloaderUserSec: number;
  readonly downloaderSysSec: number;
  readonly downloaderPeakRssMiB: number;
  readonly seedPeakRssMiB: number;
  readonly seedTransferCpuSecPerGiB: number;
}

export function summarize(defs: readonly PairDef[], outcomes: readonly PairOutcome[], reference: PairDef, bytes: number): PairSummary[] {
  const gib = bytes / GiB;
  const mibpsOf = (wallSec: number): number => bytes / MiB / wallSec;
  const referenceRuns = measured(outcomes, reference.id);
  const referenceMibps = median(referenceRuns.map((r) => mibpsOf(r.download.wallSec)));
  return defs.map((def) => {
    const runs = measured(outcomes, def.id);
    const mibpsRounds = runs.map((r) => mibpsOf(r.download.wallSec));
    const selfReported = runs.flatMap((r) => (r.download.selfReportedSec === undefined ? [] : [r.download.selfReportedSec]));
    return {
      pair: def.id,
      seed: def.seed.kind,
      downloader: def.downloader.kind,
      measuredRounds: runs.length,
      failures: outcomes.flatMap((o) => (o.kind === "failed" && o.pair === def.id ? [`round ${o.round}: ${o.reason}`] : [])),
      mibps: median(mibpsRounds),
      mibpsRounds,
      ratioToReference: median(mibpsRounds) / referenceMibps,
      wallSec: median(runs.map((r) => r.download.wallSec)),
      selfReportedSec: selfReported.length === 0 ? undefined : median(selfReported),
      downloaderCpuSecPerGiB: median(runs.map((r) => (r.download.userSec + r.download.sysSec) / gib)),
      downloaderUserSec: median(runs.map((r) => r.download.userSec)),
      downloaderSysSec: median(runs.map((r) => r.download.sysSec)),
      downloaderPeakRssMiB: Math.max(...runs.map((r) => r.download.peakRssKiB / 1024)),
      seedPeakRssMiB: Math.max(...runs.map((r) => r.seed.peakRssKiB / 1024)),
      seedTransferCpuSecPerGiB: median(runs.map((r) => r.seed.transferCpuSec / gib)),
    };
  });
}

function measured(outcomes: readonly PairOutcome[], pair: string): Extract<PairOutcome, { kind: "measured" }>[] {
  return outcomes.flatMap((o) => (o.kind === "measured" && o.pair === pair ? [o] : []));
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly value: number;
  readonly pass: boolean;
}

export function checkTargets(summaries: readonly PairSummary[], swarmsupPair: PairDef): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const own = summaries.find((s) => s.pair === swarmsupPair.id);
  if (own !== undefined) {
    checks.push({ name: `${own.pair} speed vs libtorrent->libtorrent (hp)`, target: `>= ${TARGETS.speedVsReference}x`, value: own.ratioToReference, pass: own.ratioToReference >= TARGETS.speedVsReference });
  }
  for (const s of summaries) {
    if (s.downloader === "swarmsup") {
      checks.push({ name: `${s.pair} downloader CPU-s/GiB`, target: `<= ${TARGETS.downloaderCpuSecPerGiB}`, value: s.downloaderCpuSecPerGiB, pass: s.downloaderCpuSecPerGiB <= TARGETS.downloaderCpuSecPerGiB });
      checks.push({ name: `${s.pair} downloader peak RSS MiB`, target: `< ${TARGETS.swarmsupPeakRssMiB}`, value: s.downloaderPeakRssMiB, pass: s.downloaderPeakRssMiB < TARGETS.swarmsupPeakRssMiB });
    }
    if (s.seed === "swarmsup") {
      checks.push({ name: `${s.pair} seed peak RSS MiB`, target: `< ${TARGETS.swarmsupPeakRssMiB}`, value: s.seedPeakRssMiB, pass: s.seedPeakRssMiB < TARGETS.swarmsupPeakRssMiB });
    }
  }
  for (const s of summaries) {
    checks.push({ name: `${s.pair} every round downloaded, sha256 equal`, target: "0 failures", value: s.failures.length, pass: s.failures.length === 0 && s.measuredRounds > 0 });
  }
  return checks;
}

export function formatTable(summaries: readonly PairSummary[]): string {
  const rows = [
    "| pair (seed -> downloader) | MiB/s (median) | MiB/s per round | vs lt->lt hp | downloader CPU-s/GiB (user+sys) | seed CPU-s/GiB | peak RSS downloader / seed (MiB) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const s of summaries) {
    rows.push(
      `| ${s.pair} | ${fmt(s.mibps)} | ${s.mibpsRounds.map((v) => fmt(v)).join(", ")} | ${fmt(s.ratioToReference, 2)}x | ${fmt(s.downloaderCpuSecPerGiB, 2)} (${fmt(s.downloaderUserSec, 2)}+${fmt(s.downloaderSysSec, 2)}) | ${fmt(s.seedTransferCpuSecPerGiB, 2)} | ${fmt(s.downloaderPeakRssMiB, 0)} / ${fmt(s.seedPeakRssMiB, 0)} |`,
    );
  }
  return rows.join("\n");
}

export function formatTargets(checks: readonly TargetCheck[]): string {
  return checks.map((c) => `${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${fmt(c.value, 2)} (target ${c.target})`).join("\n");
}

/** The per-pair figures for the JSON line, rounded to 3 significant digits. */
export function jsonFigures(s: PairSummary): Record<string, unknown> {
  return {
    seed: s.seed,
    downloader: s.downloader,
    rounds: s.measuredRounds,
    mibps: sig3(s.mibps),
    mibpsRounds: s.mibpsRounds.map(sig3),
    ratioToReference: sig3(s.ratioToReference),
    wallSec: sig3(s.wallSec),
    ...(s.selfReportedSec === undefined ? {} : { selfReportedSec: sig3(s.selfReportedSec) }),
    downloaderCpuSecPerGiB: sig3(s.downloaderCpuSecPerGiB),
    downloaderUserSec: sig3(s.downloaderUserSec),
    downloaderSysSec: sig3(s.downloaderSysSec),
    downloaderPeakRssMiB: sig3(s.downloaderPeakRssMiB),
    seedPeakRssMiB: sig3(s.seedPeakRssMiB),
    seedTransferCpuSecPerGiB: sig3(s.seedTransferCpuSecPerGiB),
    failures: s.failures,
  };
}
