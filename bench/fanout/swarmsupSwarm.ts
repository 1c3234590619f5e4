/**
 * The swarmsup fan-out: `swarmsup swarm --mode process --chaos none --json` (its own embedded
 * tracker, seed and N node processes), run under /usr/bin/time, whose user+sys covers the
 * parent and every node process it waited for. Finish times are the summary's per-node
 * `seconds` (from the swarm's t0); the seed's upload share is the summary's own.
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
    args: [o.swarmsupMain, "swarm", "--mode", "process", "--chaos", "none", "--json", "--nodes", String(o.nodes), "--size-mb", String(o.sizeMiB), "--piece-length", String(o.pieceLength), "--timeout", String(o.timeoutSec)],
  };
}

interface NodeLine {
  readonly role: string;
  readonly seconds: number | null;
  readonly uploadShare: number;
  readonly peakRssMb: number;
}

function parseSummary(stdout: string): { allComplete: boolean; seconds: number; perNode: NodeLine[] } {
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  const parsed: unknown = line === undefined ? undefined : JSON.parse(line);
  if (typeof parsed !== "object" || parsed === null || !("perNode" in parsed) || !Array.isArray(parsed.perNode) || !("seconds" in parsed) || !("allComplete" in parsed)) {
    throw new Error(`swarm printed no JSON summary: ${stdout.slice(0, 200)}`);
  }
  const perNode = parsed.perNode.map((n: unknown): NodeLine => {
    if (typeof n !== "object" || n === null || !("role" in n) || !("seconds" in n) || !("uploadShare" in n) || !("peakRssMb" in n)) throw new Error("swarm summary: a perNode entry lacks role/seconds/uploadShare/peakRssMb");
    return { role: String(n.role), seconds: typeof n.seconds === "number" ? n.seconds : null, uploadShare: Number(n.uploadShare), peakRssMb: Number(n.peakRssMb) };
  });
  return { allComplete: parsed.allComplete === true, seconds: Number(parsed.seconds), perNode };
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
      cpuSec: user + sys,
      seedUploadShare: seed?.uploadShare ?? 0,
      peakRssMiB: Math.max(...summary.perNode.map((n) => n.peakRssMb)),
      cpuNote: "whole `swarm` command incl. payload generation, hashing and its tracker (/usr/bin/time)",
    };
  } catch (error) {
    return { kind: "failed", reason: error instanceof Error ? error.message : String(error) };
  }
}
