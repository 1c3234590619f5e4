/**
 * `swarmsup swarm`'s flags, validated at the edge: each bad value is a usage error (exit 2)
 * that names the flag and says why. Pure apart from the default seed (random, and printed,
 * so the run can be replayed with --seed).
 */
import { randomInt } from "node:crypto";
import { ChaosSpecError, MILD_CHAOS, parseChaosSpec, type ChaosSpec } from "./chaosSpec.js";
import type { FleetMode } from "./fleet.js";
import type { SwarmConfig } from "./run.js";
import { MAX_NODES } from "./topology.js";
import { pieceLengthProblem } from "../storage/pieceLength.js";

export class SwarmUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SwarmUsageError";
  }
}

/** More would be a fork bomb on one machine, not a test. */
export const NODES_LIMIT = Math.min(MAX_NODES, 500);
const MAX_SIZE_MB = 64 * 1024;
const MiB = 1024 * 1024;

export interface SwarmCli {
  readonly config: SwarmConfig;
  readonly mode: FleetMode;
  readonly json: boolean;
}

export function parseSwarmOptions(o: Readonly<Record<string, unknown>>, defaultSeed: () => number = () => randomInt(0, 2 ** 31)): SwarmCli {
  const nodes = wholeNumber("--nodes", o.nodes ?? "8", 1, NODES_LIMIT);
  const mode = modeOf(String(o.mode ?? "process"));
  const chaos = chaosOf(String(o.chaos ?? MILD_CHAOS));
  if (chaos.crashNode !== undefined && mode !== "process") throw new SwarmUsageError(`--chaos: crash needs --mode process (it SIGKILLs node processes)`);
  const file = o.file === undefined ? undefined : String(o.file);
  if (file !== undefined && o.sizeMb !== undefined) throw new SwarmUsageError("--file and --size-mb: give one (the file's size is the payload's)");
  const sizeMb = positive("--size-mb", o.sizeMb ?? "64", MAX_SIZE_MB);
  const pieceLength = o.pieceLength === undefined ? undefined : pieceLengthOf(String(o.pieceLength));
  return {
    mode,
    json: o.json === true,
    config: {
      nodes,
      payload: file === undefined ? { kind: "random", bytes: Math.max(1, Math.round(sizeMb * MiB)) } : { kind: "file", path: file },
      pieceLength,
      chaos,
      seed: o.seed === undefined ? defaultSeed() : wholeNumber("--seed", o.seed, 0, 0xffffffff),
      timeoutSeconds: positive("--timeout", o.timeout ?? "120", 86_400),
      audit: o.audit !== false,
      record: o.record === undefined ? undefined : String(o.record),
      sabotage: o.testSabotage === true,
      progressMs: 250,
    },
  };
}

function wholeNumber(flag: string, value: unknown, min: number, max: number): number {
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new SwarmUsageError(`${flag} ${text}: not a whole number from ${min} to ${max}`);
  return n;
}

function positive(flag: string, value: unknown, max: number): number {
  const text = String(value);
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0 || n > max) throw new SwarmUsageError(`${flag} ${text}: not a number above 0 and at most ${max}`);
  return n;
}

function modeOf(text: string): FleetMode {
  switch (text) {
    case "process":
    case "inprocess":
      return text;
    default:
      throw new SwarmUsageError(`--mode ${text}: either process or inprocess`);
  }
}

function chaosOf(text: string): ChaosSpec {
  try {
    return parseChaosSpec(text);
  } catch (error) {
    if (error instanceof ChaosSpecError) throw new SwarmUsageError(`--chaos ${JSON.stringify(text)}: ${error.message}`);
    throw error;
  }
}

function pieceLengthOf(text: string): number {
  const n = Number(text);
  const problem = /^\d+$/.test(text) ? pieceLengthProblem(n) : `not a whole number: ${text}`;
  if (problem !== undefined) throw new SwarmUsageError(`--piece-length: ${problem}`);
  return n;
}
