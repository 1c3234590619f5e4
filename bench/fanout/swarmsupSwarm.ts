/**
 * The swarmsup fan-out: `swarmsup swarm --mode process --chaos none --no-audit --json` (its
 * own embedded tracker, seed and N node processes). Finish times are the summary's per-node
 * `seconds` (from the swarm's t0); the seed's upload share is the summary's own.
 *
 * CPU is the summary's `transferCpu`, measured as the libtorrent swarm is (ltSwarm.ts): the
 * seed after its check, every node's whole process, and the coordinator that hosts the
 * tracker (t0 to all complete). What the libtorrent run has no counterpart for is left
 * out: generating the payload, the seed's check, the final sha256 of every copy, and the
 * audit (off: it reads every piece back from disk to check an invariant). The whole
 * command's user+sys (/usr/bin/time) is reported beside it in cpuNote.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../pair/peers.js";
import type { FanoutRun } from "./model.js";

export interface SwarmsupSwarmOptions {
  readonly swarmsupMain: string;
  readonly nodes: number;
  readonly sizeMiB: number;
  readonly pieceLength: number;
  readonly timeoutSec: number;
  readonly workDir: string;
}

export function swarmCommand(o: SwarmsupSwarmOptions): Command {
  return {
    file: process.execPath,
    args: [o.swarmsupMain, "swarm", "--mode", "process", "--chaos", "none", "--no-audit", "--json", "--nodes", String(o.nodes), "--size-mb", String(o.sizeMiB), "--piece-length", String(o.pieceLength), "--timeout", String(o.timeoutSec)],
  };
}

interface NodeLine {
  readonly role: string;
  readonly seconds: number | null;
  readonly uploadShare: number;
  readonly peakRssMb: number;
}

function parseSummary(stdout: string): { allComplete: boolean; seconds: number; perNode: NodeLine[]; transferCpuSec: number } {
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  const parsed: unknown = line === undefined ? undefined : JSON.parse(line);
  if (typeof parsed !== "object" || parsed === null || !("perNode" in parsed) || !Array.isArray(parsed.perNode) || !("seconds" in parsed) || !("allComplete" in parsed)) {
    throw new Error(`swarm printed no JSON summary: ${stdout.slice(0, 200)}`);
  }
  const perNode = parsed.perNode.map((n: unknown): NodeLine => {
    if (typeof n !== "object" || n === null || !("role" in n) || !("seconds" in n) || !("uploadShare" in n) || !("peakRssMb" in n)) throw new Error("swarm summary: a perNode entry lacks role/seconds/uploadShare/peakRssMb");
    return { role: String(n.role), seconds: typeof n.seconds === "number" ? n.seconds : null, uploadShare: Number(n.uploadShare), peakRssMb: Number(n.peakRssMb) };
  });
  const cpu: unknown = "transferCpu" in parsed ? parsed.transferCpu : undefined;
  const transferCpuSec = typeof cpu === "object" && cpu !== null && "seconds" in cpu ? Number(cpu.seconds) : Number.NaN;
  if (!Number.isFinite(transferCpuSec)) throw new Error("swarm summary: no transferCpu.seconds");
  return { allComplete: parsed.allComplete === true, seconds: Number(parsed.seconds), perNode, transferCpuSec };
}

export async function runSwarmsupSwarm(o: SwarmsupSwarmOptions): Promise<FanoutRun> {
  const timeFile = join(o.workDir, `swarmsup-n${o.nodes}.time`);
  const cmd = swarmCommand(o);
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, cmd.file, ...cmd.args], { maxBuffer: 16 * 1024 * 1024, timeout: (o.timeoutSec + 60) * 1000, env: { ...process.env, SWARMSUP_LOG: "fatal" } }, (error, out, err) => {
        if (error !== null) reject(new Error(`swarm exited with ${error.code ?? error.signal ?? "?"}: ${String(err).trim().split("\n").at(-1) ?? ""}`));
        else resolve(out);
      });
    });
    const summary = parseSummary(stdout);
    if (!summary.allComplete) throw new Error("swarm: not every node completed");
    const [, user, sys] = (readFileSync(timeFile, "utf8").trim().split("\n").at(-1) ?? "").split(" ").map(Number);
    if (user === undefined || sys === undefined || !Number.isFinite(user + sys)) throw new Error(`no reading in ${timeFile}`);
    const leeches = summary.perNode.filter((n) => n.role === "leech");
    const seed = summary.perNode.find((n) => n.role === "seed");
    return {
      kind: "measured",
      finishSec: leeches.map((n) => n.seconds ?? Number.NaN),
      cpuSec: summary.transferCpuSec,
      seedUploadShare: seed?.uploadShare ?? 0,
      peakRssMiB: Math.max(...summary.perNode.map((n) => n.peakRssMb)),
      cpuNote: `seed after its check + node processes + coordinator/tracker t0 to all done (the summary's transferCpu; audit off); the whole command incl. payload generation, the seed's check and the sha256 checks: ${(user + sys).toFixed(1)} s (/usr/bin/time)`,
    };
  } catch (error) {
    return { kind: "failed", reason: error instanceof Error ? error.message : String(error) };
  }
}
