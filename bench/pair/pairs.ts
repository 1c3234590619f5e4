/**
 * One seed -> one downloader transfer, measured: start the seed and wait until it says it
 * is ready (its start-up check is not timed), time the downloader from its spawn to its
 * "complete" line, stop the seed, then check the downloaded file's sha256 against the
 * original and delete it (so the next pair does not find it, and its dirty pages are
 * dropped rather than written back under the next transfer).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { completion, downloaderCommand, readyPort, seedCommand, specName, type PeerSpec } from "./peers.js";
import { runDownloader, startSeed, type DownloadFigures, type SeedFigures } from "./processes.js";
import { sha256File, type Workspace } from "./workspace.js";

export interface PairDef {
  readonly id: string;
  readonly seed: PeerSpec;
  readonly downloader: PeerSpec;
}

const SWARMSUP: PeerSpec = { kind: "swarmsup" };
const LT_HP: PeerSpec = { kind: "libtorrent", profile: "high_performance_seed" };
const LT_DEFAULT: PeerSpec = { kind: "libtorrent", profile: "default" };

function pair(seed: PeerSpec, downloader: PeerSpec): PairDef {
  return { id: `${specName(seed)}->${specName(downloader)}`, seed, downloader };
}

export const SWARMSUP_PAIR = pair(SWARMSUP, SWARMSUP);
/** The yardstick: libtorrent at both ends with high_performance_seed settings. */
export const REFERENCE_PAIR = pair(LT_HP, LT_HP);
export const DEFAULT_LT_PAIR = pair(LT_DEFAULT, LT_DEFAULT);
export const PAIRS: readonly PairDef[] = [SWARMSUP_PAIR, pair(LT_HP, SWARMSUP), pair(SWARMSUP, LT_HP), REFERENCE_PAIR, DEFAULT_LT_PAIR];

export type PairOutcome =
  | { readonly kind: "measured"; readonly pair: string; readonly round: number; readonly download: DownloadFigures; readonly seed: SeedFigures }
  | { readonly kind: "failed"; readonly pair: string; readonly round: number; readonly reason: string };

export interface PairRunOptions {
  readonly downloadTimeoutSec: number;
  readonly seedReadyTimeoutSec: number;
  /** Profile every swarmsup process of the pair: --cpu-prof into <dir>/<pair>-seed and <dir>/<pair>-downloader. */
  readonly profileDir?: string;
}

export async function runPair(def: PairDef, round: number, ws: Workspace, options: PairRunOptions): Promise<PairOutcome> {
  const tag = tagOf(def, round);
  const outDir = join(ws.dir, `download-${tag}`);
  const logs = join(ws.dir, "logs");
  mkdirSync(logs, { recursive: true });
  try {
    const seed = await startSeed(seedCommand(def.seed, ws.torrent, ws.dataFile, profiling(options, tag, "seed")), (line) => readyPort(def.seed, line), join(logs, `${tag}-seed.log`), options.seedReadyTimeoutSec * 1000);
    const command = downloaderCommand(def.downloader, ws.torrent, outDir, seed.port, options.downloadTimeoutSec, profiling(options, tag, "downloader"));
    const download = await runDownloader(command, (line) => completedLine(def.downloader, line), join(logs, `${tag}-download.log`), options.downloadTimeoutSec * 1000).then(
      (figures) => ({ kind: "done" as const, figures }),
      (error: unknown) => ({ kind: "failed" as const, error }),
    );
    // Stopped (and measured) even when the download failed, so no seed outlives its pair.
    const seedFigures = await seed.stop();
    if (download.kind === "failed") throw download.error;
    const got = await sha256File(join(outDir, "payload.bin"));
    if (got !== ws.sha256) return { kind: "failed", pair: def.id, round, reason: `sha256 ${got} != ${ws.sha256}` };
    return { kind: "measured", pair: def.id, round, download: download.figures, seed: seedFigures };
  } catch (err) {
    // The logs go with the workspace: keep their last lines in the reason.
    const reason = err instanceof Error ? err.message : String(err);
    return { kind: "failed", pair: def.id, round, reason: [reason, ...lastLines(join(logs, `${tag}-seed.log`)), ...lastLines(join(logs, `${tag}-download.log`))].join("\n    ") };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export function profileDirOf(root: string, def: PairDef, round: number, role: "seed" | "downloader"): string {
  return join(root, `${tagOf(def, round)}-${role}`);
}

function tagOf(def: PairDef, round: number): string {
  return `${def.id.replace(/[^a-z0-9]+/gi, "_")}-r${round}`;
}

function profiling(options: PairRunOptions, tag: string, role: "seed" | "downloader"): string[] {
  return options.profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", join(options.profileDir, `${tag}-${role}`)];
}

function lastLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").trimEnd().split("\n").slice(-4);
  return lines.map((line) => `${basename(file)}: ${line.slice(0, 300)}`);
}

function completedLine(spec: PeerSpec, line: string): { selfReportedSec: number | undefined } | undefined {
  const seen = completion(spec, line);
  return seen.kind === "complete" ? { selfReportedSec: seen.selfReportedSec } : undefined;
}
