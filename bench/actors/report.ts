/**
 * What bench:actors prints: the reference figures (Erlang/OTP 25 on this machine), the
 * targets, and the table. A ratio is always "how many times better swarmsup is" (faster,
 * smaller, more messages per second): above 1 better, below 1 worse.
 */
import type { Latency } from "./stats.js";

/** Erlang/OTP 25 on this same machine (figures given with the issue). */
export const OTP25 = {
  spawnUs: 2.3,
  bytesPerProcess: 2600,
  pingPongMsgPerSec: 3.3e6,
  ringMsgPerSec: 1.7e6,
  restartUs: [10, 16],
  restartWithCrashLoggingUs: [170, 315],
} as const;

export const TARGETS = {
  pingPongMsgPerSec: 3e6,
  bytesPerIdleActor: 1024,
  spawn100kMs: 500,
  restartMedianUs: 50,
} as const;

export interface Figures {
  readonly spawn: { readonly ms: number; readonly bytesPerActor: number };
  readonly pingPongMsgPerSec: number;
  readonly ringMsgPerSec: number;
  /** Crash reports on, rate-limited: the target's setting. */
  readonly restart: Latency;
}

export interface RuntimeFigures extends Figures {
  readonly restartEveryReport: Latency;
  readonly restartDropped: Latency;
}

export interface TargetResult {
  readonly target: string;
  readonly value: number;
  readonly pass: boolean;
}

export function checkTargets(ours: Figures): Record<keyof typeof TARGETS, TargetResult> {
  return {
    pingPongMsgPerSec: { target: ">= 3 M msg/s", value: ours.pingPongMsgPerSec, pass: ours.pingPongMsgPerSec >= TARGETS.pingPongMsgPerSec },
    bytesPerIdleActor: { target: "<= 1 KiB", value: ours.spawn.bytesPerActor, pass: ours.spawn.bytesPerActor <= TARGETS.bytesPerIdleActor },
    spawn100kMs: { target: "< 0.5 s", value: ours.spawn.ms, pass: ours.spawn.ms < TARGETS.spawn100kMs },
    restartMedianUs: { target: "< 50 us median", value: ours.restart.medianUs, pass: ours.restart.medianUs < TARGETS.restartMedianUs },
  };
}

/** Times better: for costs (time, bytes) other/ours, for rates ours/other. */
export function costRatio(ours: number, other: number): number {
  return other / ours;
}

export function rateRatio(ours: number, other: number): number {
  return ours / other;
}

const x = (ratio: number): string => `${ratio.toFixed(2)}x`;
const xRange = (ours: number, range: readonly [number, number]): string =>
  `${costRatio(ours, range[0]).toFixed(2)}-${costRatio(ours, range[1]).toFixed(2)}x`;
const us = (value: number, digits = 1): string => `${value.toFixed(digits)} us`;
const mps = (value: number): string => `${(value / 1e6).toFixed(2)} M msg/s`;
const passFail = (result: TargetResult): string => `${result.target} ${result.pass ? "PASS" : "FAIL"}`;

type Row = readonly [string, string, string, string, string, string, string];

const HEADER: Row = ["measure", "swarmsup", "bare Node", "vs bare", "Erlang/OTP 25", "vs OTP", "target"];

/** The table as lines of text. */
export function formatTable(ours: RuntimeFigures, bare: Figures, counts: { spawn: number }): string[] {
  const targets = checkTargets(ours);
  const spawnUs = (f: Figures): number => (f.spawn.ms * 1000) / counts.spawn;
  const rows: Row[] = [
    HEADER,
    [`spawn ${counts.spawn / 1000}k (total)`, `${ours.spawn.ms.toFixed(1)} ms`, `${bare.spawn.ms.toFixed(1)} ms`, x(costRatio(ours.spawn.ms, bare.spawn.ms)), `${((OTP25.spawnUs * counts.spawn) / 1000).toFixed(0)} ms`, x(costRatio(spawnUs(ours), OTP25.spawnUs)), passFail(targets.spawn100kMs)],
    ["spawn, per actor", us(spawnUs(ours), 2), us(spawnUs(bare), 2), "", `${OTP25.spawnUs} us`, x(costRatio(spawnUs(ours), OTP25.spawnUs)), ""],
    ["heap per idle actor", `${ours.spawn.bytesPerActor.toFixed(0)} B`, `${bare.spawn.bytesPerActor.toFixed(0)} B`, x(costRatio(ours.spawn.bytesPerActor, bare.spawn.bytesPerActor)), `${OTP25.bytesPerProcess} B`, x(costRatio(ours.spawn.bytesPerActor, OTP25.bytesPerProcess)), passFail(targets.bytesPerIdleActor)],
    ["ping-pong", mps(ours.pingPongMsgPerSec), mps(bare.pingPongMsgPerSec), x(rateRatio(ours.pingPongMsgPerSec, bare.pingPongMsgPerSec)), mps(OTP25.pingPongMsgPerSec), x(rateRatio(ours.pingPongMsgPerSec, OTP25.pingPongMsgPerSec)), passFail(targets.pingPongMsgPerSec)],
    ["ring 10k x 100", mps(ours.ringMsgPerSec), mps(bare.ringMsgPerSec), x(rateRatio(ours.ringMsgPerSec, bare.ringMsgPerSec)), mps(OTP25.ringMsgPerSec), x(rateRatio(ours.ringMsgPerSec, OTP25.ringMsgPerSec)), ""],
    ["restart median, reports rate-limited", us(ours.restart.medianUs), us(bare.restart.medianUs), x(costRatio(ours.restart.medianUs, bare.restart.medianUs)), "10-16 us", xRange(ours.restart.medianUs, OTP25.restartUs), passFail(targets.restartMedianUs)],
    ["restart p90 / p99, rate-limited", `${us(ours.restart.p90Us)} / ${us(ours.restart.p99Us)}`, `${us(bare.restart.p90Us)} / ${us(bare.restart.p99Us)}`, "", "", "", ""],
    ["restart median, every report logged", us(ours.restartEveryReport.medianUs), "", "", "170-315 us", xRange(ours.restartEveryReport.medianUs, OTP25.restartWithCrashLoggingUs), ""],
    ["restart p90 / p99, every report", `${us(ours.restartEveryReport.p90Us)} / ${us(ours.restartEveryReport.p99Us)}`, "", "", "", "", ""],
    ["restart median, reports dropped", us(ours.restartDropped.medianUs), "", "", "10-16 us", xRange(ours.restartDropped.medianUs, OTP25.restartUs), ""],
  ];
  const widths = HEADER.map((_, col) => Math.max(...rows.map((row) => row[col]?.length ?? 0)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join("  ").trimEnd());
}
