/**
 * The libtorrent fan-out: `swarmsup tracker` on a free loopback port, one lt_node.py seed and
 * N lt_node.py leechers (--stay: each keeps serving after it finished, as swarmsup's nodes do),
 * all finding each other only through the tracker. Finish times count from the moment the
 * leechers are spawned (the seed's check is done before, untimed); CPU is every python
 * process's whole life (seed: from its READY line) plus the tracker's, read from /proc.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { LT_NODE, PYTHON, type Command } from "../pair/peers.js";
import { readProc } from "../pair/procfs.js";
import { startChild, type Child } from "./children.js";
import type { FanoutRun } from "./model.js";

export interface LtSwarmOptions {
  readonly swarmsupMain: string;
  readonly torrent: string;
  readonly seedDir: string;
  readonly workDir: string;
  readonly nodes: number;
  readonly timeoutSec: number;
}

interface LtResult {
  readonly payloadDownloaded: number;
  readonly payloadUploaded: number;
}

function resultOf(lines: readonly string[]): LtResult {
  const line = lines.find((l) => l.startsWith("RESULT "));
  const parsed: unknown = line === undefined ? undefined : JSON.parse(line.slice("RESULT ".length));
  if (typeof parsed !== "object" || parsed === null || !("payloadDownloaded" in parsed) || !("payloadUploaded" in parsed)) return { payloadDownloaded: 0, payloadUploaded: 0 };
  const { payloadDownloaded, payloadUploaded } = parsed;
  return { payloadDownloaded: Number(payloadDownloaded), payloadUploaded: Number(payloadUploaded) };
}

function lt(role: "seed" | "leech", o: LtSwarmOptions, dataDir: string, tracker: string): Command {
  const args = [LT_NODE, role, "--torrent", o.torrent, "--data-dir", dataDir, "--port", "0", "--profile", "high_performance_seed", "--tracker", tracker];
  return { file: PYTHON, args: role === "seed" ? args : [...args, "--stay", "--timeout", String(o.timeoutSec)] };
}

export async function runLtSwarm(o: LtSwarmOptions): Promise<FanoutRun> {
  const logs = join(o.workDir, "logs");
  mkdirSync(logs, { recursive: true });
  const started: Child[] = [];
  try {
    const tracker = startChild({ file: process.execPath, args: [o.swarmsupMain, "tracker", "--port", "0", "--interval", "5"] }, join(logs, `lt-n${o.nodes}-tracker.log`));
    started.push(tracker);
    const trackerPort = await tracker.waitFor((l) => /^tracker on 127\.0\.0\.1:(\d+)/.exec(l)?.[1], 30_000, "tracker listening");
    const url = `http://127.0.0.1:${trackerPort}/announce`;
    const seed = startChild(lt("seed", o, o.seedDir, url), join(logs, `lt-n${o.nodes}-seed.log`));
    started.push(seed);
    await seed.waitFor((l) => (l.startsWith("READY ") ? true : undefined), o.timeoutSec * 1000, "libtorrent seed ready");
    const seedAtReady = readProc(seed.pid);
    const t0 = performance.now();
    const leechers = Array.from({ length: o.nodes }, (_, i) => {
      const dir = join(o.workDir, `lt-n${o.nodes}-node${i + 1}`);
      mkdirSync(dir, { recursive: true });
      return startChild(lt("leech", o, dir, url), join(logs, `lt-n${o.nodes}-node${i + 1}.log`));
    });
    started.push(...leechers);
    const finishSec = await Promise.all(leechers.map((c, i) => c.waitFor((l) => (l === "FINISHED" ? (performance.now() - t0) / 1000 : undefined), o.timeoutSec * 1000, `libtorrent node${i + 1} finished`)));
    // Seed first: its RESULT then counts what it uploaded while everyone was still connected.
    const seedCpu = await seed.stop();
    const leechCpu = await Promise.all(leechers.map((c) => c.stop()));
    const trackerCpu = await tracker.stop();
    const seedUp = resultOf(seed.lines).payloadUploaded;
    const leechUp = leechers.reduce((n, c) => n + resultOf(c.lines).payloadUploaded, 0);
    const cpuSec = seedCpu.cpuSec - (seedAtReady?.cpuSec ?? 0) + leechCpu.reduce((n, r) => n + r.cpuSec, 0) + trackerCpu.cpuSec;
    const peakRssMiB = Math.max(seedCpu.peakRssKiB, ...leechCpu.map((r) => r.peakRssKiB)) / 1024;
    return { kind: "measured", finishSec, cpuSec, seedUploadShare: seedUp + leechUp === 0 ? 0 : seedUp / (seedUp + leechUp), peakRssMiB, cpuNote: "seed from READY + leechers' whole lives + tracker (/proc)" };
  } catch (error) {
    return { kind: "failed", reason: error instanceof Error ? error.message : String(error) };
  } finally {
    // stop() twice is harmless: the second finds the process gone and only awaits its exit.
    await Promise.allSettled(started.map((c) => c.stop()));
  }
}
