/**
 * npm run bench:pair — one seed -> one downloader over loopback, swarmsup and libtorrent
 * (bench/lt_node.py) in every combination, in the same run:
 *   swarmsup -> swarmsup, libtorrent -> swarmsup, swarmsup -> libtorrent,
 *   libtorrent -> libtorrent (high_performance_seed at both ends: the yardstick),
 *   libtorrent(default) -> libtorrent(default).
 * libtorrent runs with high_performance_seed settings wherever it meets swarmsup.
 *
 * Per transfer: the seed starts and finishes its start-up check untimed; the downloader is
 * timed from its spawn to its "complete" line; its CPU (user+sys, whole process) and peak
 * RSS come from /usr/bin/time, the seed's from /proc just before it is stopped; the file's
 * sha256 is checked. The machine is shared and noisy: pairs are interleaved, their order
 * rotated each round, and every figure is the median of the rounds (peak RSS: the largest).
 * The page cache is not dropped (the machine is shared): the payload is read once before
 * the first transfer, so every seed serves from memory. Every transfer starts --settle-s
 * (15) seconds after the previous one ended, so every downloader writes into memory in the
 * same state (bench/fanout/settle.ts: on this VM memory freed ~10 s ago costs several times
 * more to fill than memory freed a moment ago). The last line is one JSON object.
 *
 *   npm run bench:pair [-- --size-mb 1024] [--piece-kib 1024] [--rounds 3] [--skip-default] [--settle-s 15]
 *                      [--cpu-prof DIR]   (then one more run of each pair with swarmsup in it,
 *                                          every swarmsup process under node --cpu-prof, summarized)
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { sig3 } from "./actors/stats.js";
import { formatProfile, parseCpuProfile, summarizeCpuProfile, threadOf } from "./pair/cpuProfile.js";
import { DEFAULT_LT_PAIR, PAIRS, REFERENCE_PAIR, SWARMSUP_PAIR, profileDirOf, runPair, type PairDef, type PairOutcome } from "./pair/pairs.js";
import { PYTHON } from "./pair/peers.js";
import { killAll, MEASURED_BY } from "./pair/processes.js";
import { checkTargets, formatTable, formatTargets, jsonFigures, summarize } from "./pair/report.js";
import { prepareWorkspace, type Workspace } from "./pair/workspace.js";
import { SETTLE_MS, settleMemory } from "./fanout/settle.js";

const MiB = 1024 * 1024;

interface Options {
  readonly sizeMiB: number;
  readonly pieceKiB: number;
  readonly rounds: number;
  readonly skipDefault: boolean;
  readonly cpuProfDir: string | undefined;
  readonly settleMs: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      "size-mb": { type: "string", default: "1024" },
      "piece-kib": { type: "string", default: "1024" },
      rounds: { type: "string", default: "3" },
      "skip-default": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "settle-s": { type: "string", default: String(SETTLE_MS / 1000) },
    },
    strict: true,
  });
  const positive = (flag: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} ${text}: a positive integer expected`);
    return n;
  };
  return {
    sizeMiB: positive("size-mb", values["size-mb"]),
    pieceKiB: positive("piece-kib", values["piece-kib"]),
    rounds: positive("rounds", values.rounds),
    skipDefault: values["skip-default"],
    cpuProfDir: values["cpu-prof"] === undefined ? undefined : resolve(values["cpu-prof"]),
    settleMs: nonNegativeSeconds("settle-s", values["settle-s"]),
  };
}

function nonNegativeSeconds(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} ${text}: a number of seconds >= 0 expected`);
  return Math.round(n * 1000);
}

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function libtorrentVersion(): string {
  return execFileSync(PYTHON, ["-c", "import libtorrent; print(libtorrent.__version__)"], { encoding: "utf8" }).trim();
}

/** Round r runs the pairs starting from the r-th, so no pair always goes first (or after the same one). */
function rotated<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length] as T);
}

/** One more run of each pair with a swarmsup process in it, every swarmsup process under --cpu-prof. */
async function profileSwarmsup(ws: Workspace, dir: string, pairs: readonly PairDef[], timeouts: { downloadTimeoutSec: number; seedReadyTimeoutSec: number }): Promise<void> {
  for (const def of pairs.filter((p) => p.seed.kind === "swarmsup" || p.downloader.kind === "swarmsup")) {
    const outcome = await runPair(def, 0, ws, { ...timeouts, profileDir: dir });
    say();
    say(`cpu profile, ${def.id} (one extra run): ${outcome.kind === "measured" ? `${(ws.bytes / MiB / outcome.download.wallSec).toFixed(1)} MiB/s under the profiler` : `FAILED: ${outcome.reason}`}`);
    for (const role of ["downloader", "seed"] as const) {
      if ((role === "seed" ? def.seed : def.downloader).kind !== "swarmsup") continue;
      const roleDir = profileDirOf(dir, def, 0, role);
      for (const file of existsSync(roleDir) ? readdirSync(roleDir).filter((f) => f.endsWith(".cpuprofile")).sort() : []) {
        const thread = threadOf(file);
        say(`  the ${role}, ${thread}: ${join(roleDir, file)}`);
        say(formatProfile(summarizeCpuProfile(parseCpuProfile(readFileSync(join(roleDir, file), "utf8")), process.cwd(), thread === "main thread" ? 25 : 8)));
      }
    }
  }
}

/** Set as soon as the temp dir exists, so the exit hook below removes it. */
let removeWorkspace: (() => void) | undefined;

// However the bench ends (a signal, a closed stdout pipe, an uncaught error), no child and no temp file outlives it.
process.once("exit", () => {
  killAll();
  removeWorkspace?.();
});
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));
process.stdout.on("error", () => process.exit(1));

async function main(): Promise<void> {
  const opts = options();
  const started = performance.now();
  const bytes = opts.sizeMiB * MiB;
  const pieceLength = opts.pieceKiB * 1024;
  const pairs: readonly PairDef[] = opts.skipDefault ? PAIRS.filter((p) => p !== DEFAULT_LT_PAIR) : PAIRS;
  const command = `npm run bench:pair -- ${process.argv.slice(2).join(" ")}`.replace(/ -- $/, "");
  const cpuList = cpus();
  const loadAtStart = loadavg();
  const ltVersion = libtorrentVersion();
  say(`bench:pair — ${command}  (${["node dist/bench/pair.js", ...process.argv.slice(2)].join(" ")})`);
  say(`  ${new Date().toISOString()}; node ${process.version}; libtorrent ${ltVersion} (python3-libtorrent); Linux ${release()}; ${cpuList.length} CPUs (${cpuList[0]?.model ?? "unknown"})`);
  say(`  payload ${opts.sizeMiB} MiB random, ${opts.pieceKiB} KiB pieces, ${opts.rounds} rounds interleaved (order rotated), medians; loopback TCP, one seed and one downloader at a time`);
  say(`  downloader timed from spawn to its "complete" line (seed start-up check excluded); CPU and peak RSS of the downloader by ${MEASURED_BY}, of the seed from /proc`);
  say(`  load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")} (the machine is shared: other work runs beside the bench)`);
  say("  page cache: not dropped (shared machine); the payload is written and read once before the first transfer, so seeds read it from memory");
  say(`  every transfer starts ${opts.settleMs / 1000} s after the previous one ended (freed memory goes back to the VM's host: every downloader starts from the same memory state)`);

  const ws = await prepareWorkspace(bytes, pieceLength, (remove) => (removeWorkspace = remove));
  const timeouts = { downloadTimeoutSec: Math.max(60, Math.ceil(bytes / (5 * MiB))), seedReadyTimeoutSec: Math.max(60, Math.ceil(bytes / (10 * MiB))) };
  try {
    say(`  workspace ${ws.dir} (prepared in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    say();
    const outcomes: PairOutcome[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const def of rotated(pairs, round - 1)) {
        await settleMemory(opts.settleMs);
        const outcome = await runPair(def, round, ws, timeouts);
        outcomes.push(outcome);
        say(
          outcome.kind === "measured"
            ? `  round ${round}  ${def.id.padEnd(42)} ${(bytes / MiB / outcome.download.wallSec).toFixed(1).padStart(7)} MiB/s  ${outcome.download.wallSec.toFixed(2)} s  cpu ${(outcome.download.userSec + outcome.download.sysSec).toFixed(2)} s  rss ${(outcome.download.peakRssKiB / 1024).toFixed(0)}/${(outcome.seed.peakRssKiB / 1024).toFixed(0)} MiB`
            : `  round ${round}  ${def.id.padEnd(42)} FAILED: ${outcome.reason}`,
        );
      }
    }
    const summaries = summarize(pairs, outcomes, REFERENCE_PAIR, bytes);
    const checks = checkTargets(summaries, SWARMSUP_PAIR);
    say();
    say(formatTable(summaries));
    say();
    say(formatTargets(checks));
    if (opts.cpuProfDir !== undefined) await profileSwarmsup(ws, opts.cpuProfDir, pairs, timeouts);
    const pass = checks.every((c) => c.pass);
    say();
    say(
      JSON.stringify({
        bench: "pair",
        command,
        date: new Date().toISOString(),
        node: process.version,
        libtorrent: ltVersion,
        cpus: cpuList.length,
        loadAvg: { start: loadAtStart.map(sig3), end: loadavg().map(sig3) },
        bytes,
        pieceLength,
        rounds: opts.rounds,
        pageCache: "warm (payload read once before the first transfer; not dropped)",
        settleMs: opts.settleMs,
        measuredBy: MEASURED_BY,
        reference: REFERENCE_PAIR.id,
        pairs: Object.fromEntries(summaries.map((s) => [s.pair, jsonFigures(s)])),
        targets: Object.fromEntries(checks.map((c) => [c.name, { target: c.target, value: sig3(c.value), pass: c.pass }])),
        pass,
        seconds: sig3((performance.now() - started) / 1000),
      }),
    );
    // A target missed is a finding (printed above); a transfer that failed is a broken bench.
    process.exitCode = outcomes.some((o) => o.kind === "failed") ? 1 : 0;
  } finally {
    ws.remove();
  }
}

await main();
