/**
 * npm run bench:actors — the actor runtime beside a bare-Node baseline (bench/actors/baseline.ts)
 * measured in the same run, and beside Erlang/OTP 25's figures from this machine:
 * spawn 100,000 actors (time, heap per idle actor after gc), ping-pong, a ring of 10,000
 * actors x 100 laps, and restart latency under a one_for_one supervisor with crash reports on.
 *
 * The machine is shared and noisy: every figure is the median of BENCH_ROUNDS (default 5)
 * rounds, swarmsup and baseline interleaved (their order alternating by round), after one
 * untimed warm-up of each workload. The last line is one JSON object with every figure.
 *
 * Needs --expose-gc (the npm script passes it) for the heap figures.
 */
import { cpus } from "node:os";
import { bareRestarts, barePingPong, bareRing, bareSpawn } from "./actors/baseline.js";
import { checkTargets, formatTable, OTP25, costRatio, rateRatio, type Figures, type RuntimeFigures } from "./actors/report.js";
import { NULL_LOG_DESTINATION, runtimePingPong, runtimeRestarts, runtimeRing, runtimeSpawn, type ReportMode } from "./actors/runtime.js";
import { latencyOf, median, medianLatency, messagesPerSecond, sig3, type Latency, type Timed } from "./actors/stats.js";

const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 5);
const SPAWNS = 100_000;
const ROUND_TRIPS = 1_000_000;
const RING_SIZE = 10_000;
const RING_LAPS = 100;
const CRASHES = 1_000;

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_ROUNDS must be a positive integer (got ${text})`);
  return value;
}

function fullGc(): void {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench:actors does)");
  gc();
  gc();
}

type Side = "swarmsup" | "bare";

/** Spawns SPAWNS idle actors; heap per actor = heapUsed growth across full GCs, actors alive. */
function measureSpawn(side: Side): { ms: number; bytesPerActor: number } {
  fullGc();
  const before = process.memoryUsage().heapUsed;
  const run = side === "swarmsup" ? runtimeSpawn(SPAWNS) : bareSpawn(SPAWNS);
  fullGc();
  const after = process.memoryUsage().heapUsed;
  const alive = "pids" in run ? run.rt.processCount : run.actors.length;
  if (alive !== SPAWNS) throw new Error(`${side}: ${alive} actors alive, expected ${SPAWNS}`);
  return { ms: run.ms, bytesPerActor: (after - before) / SPAWNS };
}

interface Samples {
  spawnMs: number[];
  spawnBytes: number[];
  pingPong: number[];
  ring: number[];
  restart: Latency[];
}

const emptySamples = (): Samples => ({ spawnMs: [], spawnBytes: [], pingPong: [], ring: [], restart: [] });

async function oneRound(side: Side, into: Samples, extra: Map<ReportMode, Latency[]>): Promise<void> {
  const spawn = measureSpawn(side);
  into.spawnMs.push(spawn.ms);
  into.spawnBytes.push(spawn.bytesPerActor);
  fullGc();
  const pingPong: Timed = side === "swarmsup" ? await runtimePingPong(ROUND_TRIPS) : await barePingPong(ROUND_TRIPS);
  into.pingPong.push(messagesPerSecond(pingPong));
  fullGc();
  const ring: Timed = side === "swarmsup" ? await runtimeRing(RING_SIZE, RING_LAPS) : await bareRing(RING_SIZE, RING_LAPS);
  into.ring.push(messagesPerSecond(ring));
  fullGc();
  if (side === "bare") {
    into.restart.push(latencyOf(await bareRestarts(CRASHES)));
    return;
  }
  into.restart.push(latencyOf(await runtimeRestarts(CRASHES, "rateLimited")));
  for (const mode of ["everyReport", "dropped"] as const) {
    fullGc();
    extra.get(mode)?.push(latencyOf(await runtimeRestarts(CRASHES, mode)));
  }
}

async function warmUp(): Promise<void> {
  runtimeSpawn(10_000);
  bareSpawn(10_000);
  await runtimePingPong(20_000);
  await barePingPong(20_000);
  await runtimeRing(1_000, 10);
  await bareRing(1_000, 10);
  for (const mode of ["rateLimited", "everyReport", "dropped"] as const) await runtimeRestarts(100, mode);
  await bareRestarts(100);
}

function figuresOf(samples: Samples): Figures {
  return {
    spawn: { ms: median(samples.spawnMs), bytesPerActor: median(samples.spawnBytes) },
    pingPongMsgPerSec: median(samples.pingPong),
    ringMsgPerSec: median(samples.ring),
    restart: medianLatency(samples.restart),
  };
}

function rounded<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === "number" ? sig3(v) : v))) as T;
}

async function main(): Promise<void> {
  const cpuList = cpus();
  console.log("bench:actors — npm run bench:actors  (node --expose-gc dist/bench/actors.js)");
  console.log(`  node ${process.version}, ${cpuList.length} CPUs (${cpuList[0]?.model ?? "unknown"}), ${new Date().toISOString()}`);
  console.log(
    `  median of ${ROUNDS} rounds, swarmsup and bare Node interleaved; ping-pong ${ROUND_TRIPS.toLocaleString("en")} round trips ` +
      `(2 messages each); ring ${RING_SIZE.toLocaleString("en")} actors x ${RING_LAPS} laps; ${CRASHES.toLocaleString("en")} restarts per round`,
  );
  console.log(`  crash reports: pino -> ${NULL_LOG_DESTINATION}; "rate-limited" = the runtime's default limits (burst 20, 10/s)`);
  console.log("  bare Node: plain class + array queue, one global run queue drained from setImmediate, 100 messages per turn; its restart logs nothing");
  console.log("  ratios: how many times better swarmsup is (faster, smaller, more msg/s); below 1 = worse");
  const started = performance.now();
  await warmUp();

  const ours = emptySamples();
  const bare = emptySamples();
  const extra = new Map<ReportMode, Latency[]>([["everyReport", []], ["dropped", []]]);
  for (let round = 0; round < ROUNDS; round++) {
    const order: Side[] = round % 2 === 0 ? ["swarmsup", "bare"] : ["bare", "swarmsup"];
    for (const side of order) await oneRound(side, side === "swarmsup" ? ours : bare, extra);
  }

  const oursFigures: RuntimeFigures = {
    ...figuresOf(ours),
    restartEveryReport: medianLatency(extra.get("everyReport") ?? []),
    restartDropped: medianLatency(extra.get("dropped") ?? []),
  };
  const bareFigures = figuresOf(bare);
  console.log("");
  for (const line of formatTable(oursFigures, bareFigures, { spawn: SPAWNS })) console.log(`  ${line}`);
  console.log("");
  console.log(`  per round: ping-pong M msg/s ${ours.pingPong.map((v) => (v / 1e6).toFixed(2)).join(", ")}; ring M msg/s ${ours.ring.map((v) => (v / 1e6).toFixed(2)).join(", ")}; restart median us ${ours.restart.map((r) => r.medianUs.toFixed(1)).join(", ")}`);

  const targets = checkTargets(oursFigures);
  const allPass = Object.values(targets).every((t) => t.pass);
  const seconds = (performance.now() - started) / 1000;
  console.log(`  targets: ${allPass ? "all PASS" : "some FAIL"}; bench took ${seconds.toFixed(1)} s`);
  const spawnUs = (oursFigures.spawn.ms * 1000) / SPAWNS;
  console.log(
    JSON.stringify(
      rounded({
        bench: "actors",
        command: "npm run bench:actors",
        node: process.version,
        cpus: cpuList.length,
        rounds: ROUNDS,
        crashReports: { mode: "rateLimited", destination: NULL_LOG_DESTINATION },
        swarmsup: { ...oursFigures, spawn: { ...oursFigures.spawn, count: SPAWNS, usPerSpawn: spawnUs } },
        bare: { ...bareFigures, spawn: { ...bareFigures.spawn, count: SPAWNS, usPerSpawn: (bareFigures.spawn.ms * 1000) / SPAWNS } },
        otp25: OTP25,
        vsOtp: {
          spawn: costRatio(spawnUs, OTP25.spawnUs),
          bytesPerActor: costRatio(oursFigures.spawn.bytesPerActor, OTP25.bytesPerProcess),
          pingPong: rateRatio(oursFigures.pingPongMsgPerSec, OTP25.pingPongMsgPerSec),
          ring: rateRatio(oursFigures.ringMsgPerSec, OTP25.ringMsgPerSec),
          restartRateLimited: OTP25.restartUs.map((otp) => costRatio(oursFigures.restart.medianUs, otp)),
          restartEveryReport: OTP25.restartWithCrashLoggingUs.map((otp) => costRatio(oursFigures.restartEveryReport.medianUs, otp)),
        },
        vsBare: {
          spawn: costRatio(oursFigures.spawn.ms, bareFigures.spawn.ms),
          bytesPerActor: costRatio(oursFigures.spawn.bytesPerActor, bareFigures.spawn.bytesPerActor),
          pingPong: rateRatio(oursFigures.pingPongMsgPerSec, bareFigures.pingPongMsgPerSec),
          ring: rateRatio(oursFigures.ringMsgPerSec, bareFigures.ringMsgPerSec),
          restart: costRatio(oursFigures.restart.medianUs, bareFigures.restart.medianUs),
        },
        targets,
        pass: allPass,
        seconds,
      }),
    ),
  );
}

await main();
