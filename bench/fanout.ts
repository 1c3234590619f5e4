/**
 * npm run bench:fanout — 1 seed + N nodes on 127.0.0.1, swarmsup against python3-libtorrent,
 * in the same run (issue 7):
 *   (a) swarmsup: `swarmsup swarm --mode process --chaos none --json` per N (its own tracker);
 *   (b) libtorrent: bench/lt_node.py seed + N leechers meeting through `swarmsup tracker`;
 *   (c) one swarmsup seed -> one swarmsup downloader (bench:pair's runPair): t for the model.
 * Per N: all-done T, p50/p99 node finish, aggregate MiB/s, CPU-s/GiB delivered, the seed's
 * upload share, efficiency = T_opt / T (bench/fanout/model.ts). Targets printed PASS/FAIL;
 * the last line is one JSON object.
 *
 *   npm run bench:fanout [-- --nodes 4,8,16] [--size-mb 256 | --sizes 64,256] [--piece-kib 1024] [--rounds 1]
 *
 * Every run (the pair too) starts SETTLE_MS after the previous one ended and the client that
 * runs first alternates from one round to the next (bench/fanout/settle.ts says why). One run
 * per (client, N) by default: with the defaults the whole bench takes ~3 minutes here, 105 s
 * of it the pauses. `--rounds R` runs each (client, N) R times and reports the round with the
 * median all-done time (every round's T and CPU are printed and kept in the JSON): a single
 * fan-out run swings by 10-25 % on this machine.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { rmSync } from "node:fs";
import { sig3 } from "./actors/stats.js";
import { killAllChildren } from "./fanout/children.js";
import { runLtSwarm } from "./fanout/ltSwarm.js";
import { checkFanout, fanoutRow, formatChecks, formatRows, jsonRow, medianRound, type FanoutRow } from "./fanout/model.js";
import { clientOrder, SETTLE_MS, settleMemory } from "./fanout/settle.js";
import { runSwarmsupSwarm } from "./fanout/swarmsupSwarm.js";
import { runPair, SWARMSUP_PAIR } from "./pair/pairs.js";
import { PYTHON } from "./pair/peers.js";
import { killAll } from "./pair/processes.js";
import { prepareWorkspace } from "./pair/workspace.js";

const MiB = 1024 * 1024;
const SWARMSUP_MAIN = fileURLToPath(new URL("../src/cli/swarmsup.mjs", import.meta.url));

function positiveList(flag: string, text: string): number[] {
  const list = text.split(",").map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) throw new Error(`--${flag} ${text}: comma-separated integers 1..64 expected`);
  return list;
}

function options(): { nodes: number[]; sizesMiB: number[]; pieceKiB: number; rounds: number } {
  const { values } = parseArgs({
    options: { nodes: { type: "string", default: "4,8,16" }, "size-mb": { type: "string", default: "256" }, sizes: { type: "string" }, "piece-kib": { type: "string", default: "1024" }, rounds: { type: "string", default: "1" } },
    strict: true,
  });
  const sizes = (values.sizes ?? values["size-mb"]).split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) throw new Error(`--sizes/--size-mb: integers 1..4096 (MiB) expected`);
  const pieceKiB = Number(values["piece-kib"]);
  if (!Number.isInteger(pieceKiB) || pieceKiB < 16 || (pieceKiB & (pieceKiB - 1)) !== 0) throw new Error("--piece-kib: a power of two >= 16 expected");
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error("--rounds: an integer 1..9 expected");
  return { nodes: positiveList("nodes", values.nodes), sizesMiB: sizes, pieceKiB, rounds };
}

const say = (line = ""): void => void process.stdout.write(`${line}\n`);

let removeWorkspace: (() => void) | undefined;
process.once("exit", () => {
  killAllChildren();
  killAll();
  removeWorkspace?.();
});
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

/** Swarm runs so far across sizes: the first client alternates over the whole bench. */
let swarmsRun = 0;
const runOrder: string[] = [];

async function runSize(sizeMiB: number, pieceLength: number, nodeCounts: readonly number[], rounds: number): Promise<{ rows: FanoutRow[]; pairSec: number; pieces: number }> {
  const bytes = sizeMiB * MiB;
  const pieces = Math.ceil(bytes / pieceLength);
  const ws = await prepareWorkspace(bytes, pieceLength, (remove) => (removeWorkspace = remove));
  try {
    const timeoutSec = Math.max(120, Math.ceil((bytes * Math.max(...nodeCounts)) / (5 * MiB)));
    await settleMemory();
    const pair = await runPair(SWARMSUP_PAIR, 1, ws, { downloadTimeoutSec: timeoutSec, seedReadyTimeoutSec: 120 });
    const pairSec = pair.kind === "measured" ? pair.download.wallSec : Number.NaN;
    say(`  ${sizeMiB} MiB pair swarmsup->swarmsup: ${pair.kind === "measured" ? `t = ${pairSec.toFixed(2)} s (${(sizeMiB / pairSec).toFixed(1)} MiB/s)` : `FAILED: ${pair.reason}`}`);
    const rows: FanoutRow[] = [];
    for (const n of nodeCounts) {
      const byClient = { swarmsup: [] as FanoutRow[], libtorrent: [] as FanoutRow[] };
      for (let round = 1; round <= rounds; round++) {
        const order = clientOrder(["swarmsup", "libtorrent"] as const, swarmsRun++);
        runOrder.push(`${sizeMiB} MiB N=${n}${rounds > 1 ? ` round ${round}` : ""}: ${order.join(" then ")}`);
        for (const client of order) {
          await settleMemory();
          let row: FanoutRow;
          if (client === "swarmsup") {
            row = fanoutRow(client, n, await runSwarmsupSwarm({ swarmsupMain: SWARMSUP_MAIN, nodes: n, sizeMiB, pieceLength, timeoutSec, workDir: ws.dir }), bytes, pieces, pairSec);
          } else {
            const ltDir = join(ws.dir, `lt-n${n}`);
            row = fanoutRow(client, n, await runLtSwarm({ swarmsupMain: SWARMSUP_MAIN, torrent: ws.torrent, seedDir: dirname(ws.dataFile), workDir: ltDir, nodes: n, timeoutSec }), bytes, pieces, pairSec);
            // Each leecher's copy goes now (swarmsup's swarm deletes its own): N x size of dirty pages should not be written back under the next run.
            rmSync(ltDir, { recursive: true, force: true });
          }
          byClient[client].push(row);
          say(`  ${sizeMiB} MiB N=${n}${rounds > 1 ? ` round ${round}` : ""} ${row.client.padEnd(10)} ${row.run.kind === "measured" ? `T ${row.allDoneSec.toFixed(2)} s, ${row.aggregateMiBps.toFixed(1)} MiB/s, ${row.cpuSecPerGiB.toFixed(2)} CPU-s/GiB; CPU: ${row.run.cpuNote}` : `FAILED: ${row.run.reason}`}`);
        }
      }
      // Rows stay in one order (swarmsup, then libtorrent) whatever order they ran in.
      rows.push(medianRound(byClient.swarmsup), medianRound(byClient.libtorrent));
    }
    return { rows, pairSec, pieces };
  } finally {
    ws.remove();
    removeWorkspace = undefined;
  }
}

async function main(): Promise<void> {
  const opts = options();
  const started = performance.now();
  const pieceLength = opts.pieceKiB * 1024;
  const command = `npm run bench:fanout${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const loadAtStart = loadavg();
  const ltVersion = execFileSync(PYTHON, ["-c", "import libtorrent; print(libtorrent.__version__)"], { encoding: "utf8" }).trim();
  say(`bench:fanout — ${command}`);
  say(`  ${new Date().toISOString()}; node ${process.version}; libtorrent ${ltVersion}; ${cpus().length} CPUs; load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}`);
  say(`  1 seed + N nodes on 127.0.0.1; N = ${opts.nodes.join(", ")}; payload ${opts.sizesMiB.join(", ")} MiB, ${opts.pieceKiB} KiB pieces; ${opts.rounds === 1 ? "one run each (no rounds)" : `${opts.rounds} rounds each, the median all-done round reported`}`);
  say(`  every run starts ${SETTLE_MS / 1000} s after the previous one ended (freed memory goes back to the VM's host: both clients start from the same memory state); the client that runs first alternates from one round to the next (bench/fanout/settle.ts)`);
  say(`  swarmsup: swarm --mode process --chaos none --no-audit --json (embedded tracker); CPU = seed after its check + node processes + the coordinator/tracker from t0 to all done (summary.transferCpu), as libtorrent's is measured`);
  say(`  libtorrent: lt_node.py high_performance_seed, seed + N leechers (--stay) via swarmsup tracker; CPU = seed after READY + leechers + tracker, /proc`);
  const all: { sizeMiB: number; rows: FanoutRow[]; pairSec: number; pieces: number }[] = [];
  for (const sizeMiB of opts.sizesMiB) all.push({ sizeMiB, ...(await runSize(sizeMiB, pieceLength, opts.nodes, opts.rounds)) });
  const checks = all.flatMap((s) => checkFanout(s.rows, opts.nodes).map((c) => ({ ...c, name: `${s.sizeMiB} MiB: ${c.name}` })));
  for (const s of all) {
    say();
    say(`${s.sizeMiB} MiB, R = ${s.pieces} pieces, pair t = ${s.pairSec.toFixed(2)} s`);
    say(formatRows(s.rows));
  }
  say();
  say(formatChecks(checks));
  say();
  say(
    JSON.stringify({
      bench: "fanout",
      command,
      date: new Date().toISOString(),
      node: process.version,
      libtorrent: ltVersion,
      cpus: cpus().length,
      loadAvg: { start: loadAtStart.map(sig3), end: loadavg().map(sig3) },
      pieceLength,
      rounds: opts.rounds,
      settleMs: SETTLE_MS,
      runOrder,
      sizes: all.map((s) => ({ sizeMiB: s.sizeMiB, pieces: s.pieces, pairSec: sig3(s.pairSec), rows: s.rows.map(jsonRow) })),
      targets: checks.map((c) => ({ name: c.name, target: c.target, value: sig3(c.value), pass: c.pass })),
      pass: checks.every((c) => c.pass),
      seconds: sig3((performance.now() - started) / 1000),
    }),
  );
  process.exitCode = all.some((s) => s.rows.some((r) => r.run.kind === "failed")) ? 1 : 0;
}

await main();
