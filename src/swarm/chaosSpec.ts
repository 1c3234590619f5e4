/**
 * The `--chaos` grammar of `swarmsup swarm`: what faults to inject, as one line of text.
 *
 * Guarantees:
 * - parseChaosSpec is total and strict: every string either gives a ChaosSpec whose every value
 *   is in range, or throws ChaosSpecError naming the clause and why (an unknown clause, a bad
 *   number, a value out of range, a duplicate, a dependency missing). Nothing else is thrown.
 *   Input is bounded (MAX_CHAOS_SPEC_LENGTH) and parsed without recursion.
 * - formatChaosSpec gives the canonical text: fixed clause order, every option spelled out,
 *   each value in the unit that writes it shortest and exactly (durations and sizes prefer
 *   whole numbers: 500ms, 1500B). parseChaosSpec(formatChaosSpec(s))
 *   equals s for every spec the parser can produce, and formatting is idempotent on text.
 *
 * The grammar (docs/CHAOS.md has the reference and examples): clauses separated by commas,
 * spaces around a clause ignored, `none` (or "") alone for no chaos.
 *   kill:KIND@RATE            KIND in peer io piece_mgr torrent_ctl announcer torrent
 *   corrupt:P                 P in (0, 1]: share of blocks a lying node corrupts
 *   corrupt-nodes:S           S in (0, 1]: share of the non-seed nodes that lie (default 0.25)
 *   net:latency=DURATION      net:bw=SIZE/s     net:reset@RATE     net:stall@RATE[=DURATION]
 *   crash:node@N[:after=DURATION][:restart=DURATION]
 * RATE is NUMBER/s or NUMBER/min; DURATION is NUMBER with ms, s or min; SIZE is NUMBER with
 * B, kB/KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024). NUMBER is decimal,
 * optionally with an exponent (`1e-3`); no sign, no NaN, no Infinity.
 */

export const ACTOR_KINDS = ["peer", "io", "piece_mgr", "torrent_ctl", "announcer", "torrent"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

export interface KillRate {
  readonly kind: ActorKind;
  readonly perSecond: number;
}

export interface NetFaults {
  readonly latencyMs: number;
  readonly bandwidthBytesPerSec: number | undefined;
  readonly resetPerSecond: number;
  readonly stallPerSecond: number;
  readonly stallMs: number;
}

export interface ChaosSpec {
  /** At most one entry per kind, in ACTOR_KINDS order. */
  readonly kills: readonly KillRate[];
  /** A share of nodes (not the seed) lie: each block they serve is corrupted with `probability`. */
  readonly corrupt: { readonly probability: number; readonly nodeShare: number } | undefined;
  /** Faults on every node-to-node TCP link through the proxy. */
  readonly net: NetFaults | undefined;
  /** Process mode only: SIGKILL whole node processes. */
  readonly crashNode: { readonly count: number; readonly afterMs: number; readonly restartDelayMs: number } | undefined;
}

export type ChaosEvent =
  | { readonly t: number; readonly kind: "kill"; readonly node: string; readonly actor: ActorKind; readonly name: string }
  | { readonly t: number; readonly kind: "netReset" | "netStall"; readonly node: string; readonly link: string }
  | { readonly t: number; readonly kind: "crashNode" | "restartNode"; readonly node: string };

export class ChaosSpecError extends Error {
  constructor(
    /** The offending clause (cut to 80 characters), or "" when the text as a whole is wrong. */
    readonly clause: string,
    readonly why: string,
  ) {
    super(clause === "" ? `chaos spec: ${why}` : `chaos clause "${clause}": ${why}`);
    this.name = "ChaosSpecError";
  }
}

export const MAX_CHAOS_SPEC_LENGTH = 1024;

/** Inclusive bounds of every value (a rate of 0 is written by leaving the clause out). */
export const CHAOS_LIMITS = {
  perSecond: { min: 1e-4, max: 1000 },
  probability: { min: Number.MIN_VALUE, max: 1 },
  latencyMs: { min: 0, max: 60_000 },
  stallMs: { min: 1, max: 60_000 },
  bandwidthBytesPerSec: { min: 1000, max: 1e11 },
  crashCount: { min: 1, max: 1000 },
  afterMs: { min: 0, max: 3_600_000 },
  restartDelayMs: { min: 0, max: 600_000 },
} as const;

export const DEFAULT_CORRUPT_NODE_SHARE = 0.25;
export const DEFAULT_STALL_MS = 500;
export const DEFAULT_CRASH_AFTER_MS = 2000;
export const DEFAULT_CRASH_RESTART_MS = 1000;

export const NO_CHAOS: ChaosSpec = Object.freeze({ kills: Object.freeze([]), corrupt: undefined, net: undefined, crashNode: undefined });

/**
 * `npm start`'s default: an 8-node, 64 MiB swarm visibly survives peers and file workers
 * being killed and one lying node, and still finishes in seconds.
 */
export const MILD_CHAOS = "kill:peer@0.5/s,kill:io@0.1/s,corrupt:0.05,corrupt-nodes:0.125";

/** How many of `candidates` non-seed nodes lie for a node share: at least one when any may. */
export function lyingNodeCount(nodeShare: number, candidates: number): number {
  if (candidates <= 0 || !(nodeShare > 0)) return 0;
  return Math.min(candidates, Math.max(1, Math.round(nodeShare * candidates)));
}

// ---- parsing ----------------------------------------------------------------------------

type Bounds = { readonly min: number; readonly max: number };

const NUMBER = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const MAX_NUMERAL = 32;
const RATE_UNITS = { s: 1, min: 60 } as const;
const DURATION_UNITS = { ms: 1, s: 1000, min: 60_000 } as const;
const SIZE_UNITS = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;

interface Draft {
  kills: Map<ActorKind, number>;
  probability?: number;
  nodeShare?: number;
  latencyMs?: number;
  bandwidth?: number;
  resetPerSecond?: number;
  stall?: { perSecond: number; ms: number };
  crash?: { count: number; afterMs: number; restartDelayMs: number };
}

/** Parses `--chaos` text; "" or "none" is no chaos. Throws ChaosSpecError only. */
export function parseChaosSpec(text: string): ChaosSpec {
  if (typeof text !== "string") throw new ChaosSpecError("", `expected text, got ${typeof text}`);
  if (text.length > MAX_CHAOS_SPEC_LENGTH) throw new ChaosSpecError("", `longer than ${MAX_CHAOS_SPEC_LENGTH} characters`);
  const whole = text.trim();
  if (whole === "" || whole === "none") return NO_CHAOS;
  const draft: Draft = { kills: new Map() };
  const seen = new Set<string>();
  for (const raw of whole.split(",")) {
    const clause = raw.trim();
    if (clause === "") throw new ChaosSpecError("", "an empty clause (two commas in a row, or a comma at an end)");
    const key = parseClause(clause, draft);
    if (seen.has(key)) throw new ChaosSpecError(shown(clause), `"${key}" is given twice`);
    seen.add(key);
  }
  if (draft.nodeShare !== undefined && draft.probability === undefined) {
    throw new ChaosSpecError(`corrupt-nodes:${draft.nodeShare}`, "needs a corrupt:P clause (how often the lying nodes lie)");
  }
  return fromDraft(draft);
}

/** Applies one clause to the draft; returns its key (for duplicates). */
function parseClause(clause: string, d: Draft): string {
  const fail = (why: string): never => {
    throw new ChaosSpecError(shown(clause), why);
  };
  let m: RegExpExecArray | null;
  if ((m = /^kill:([^@]*)@(.*)$/.exec(clause)) !== null) {
    const kind = m[1] ?? "";
    if (!isActorKind(kind)) fail(`unknown actor kind "${shown(kind)}" (expected one of ${ACTOR_KINDS.join(", ")})`);
    d.kills.set(kind as ActorKind, rate(m[2] ?? "", fail));
    return `kill:${kind}`;
  }
  if ((m = /^corrupt:(.*)$/.exec(clause)) !== null) {
    d.probability = number(m[1] ?? "", CHAOS_LIMITS.probability, "probability", fail);
    return "corrupt";
  }
  if ((m = /^corrupt-nodes:(.*)$/.exec(clause)) !== null) {
    d.nodeShare = number(m[1] ?? "", CHAOS_LIMITS.probability, "node share", fail);
    return "corrupt-nodes";
  }
  if ((m = /^net:latency=(.*)$/.exec(clause)) !== null) {
    d.latencyMs = duration(m[1] ?? "", CHAOS_LIMITS.latencyMs, fail);
    return "net:latency";
  }
  if ((m = /^net:bw=(.*)\/s$/.exec(clause)) !== null) {
    d.bandwidth = size(m[1] ?? "", CHAOS_LIMITS.bandwidthBytesPerSec, fail);
    return "net:bw";
  }
  if ((m = /^net:reset@(.*)$/.exec(clause)) !== null) {
    d.resetPerSecond = rate(m[1] ?? "", fail);
    return "net:reset";
  }
  if ((m = /^net:stall@([^=]*)(?:=(.*))?$/.exec(clause)) !== null) {
    const ms = m[2] === undefined ? DEFAULT_STALL_MS : duration(m[2], CHAOS_LIMITS.stallMs, fail);
    d.stall = { perSecond: rate(m[1] ?? "", fail), ms };
    return "net:stall";
  }
  if ((m = /^crash:node@([^:]*)((?::[^:]*)*)$/.exec(clause)) !== null) {
    d.crash = crash(m[1] ?? "", m[2] ?? "", fail);
    return "crash:node";
  }
  if (clause === "none") return fail("none stands alone: it cannot be combined with other clauses");
  const form = CLAUSE_FORMS.find(([prefix]) => clause.startsWith(prefix));
  return fail(form === undefined ? `unknown clause (expected ${CLAUSE_FORMS.map(([, f]) => f).join(", ")} or none)` : `expected ${form[1]}`);
}

/** Each clause's form, by the prefix that tells it apart (for errors). */
const CLAUSE_FORMS: readonly (readonly [string, string])[] = [
  ["kill:", "kill:KIND@RATE"],
  ["corrupt-nodes", "corrupt-nodes:SHARE"],
  ["corrupt", "corrupt:PROBABILITY"],
  ["net:latency", "net:latency=DURATION"],
  ["net:bw", "net:bw=SIZE/s"],
  ["net:reset", "net:reset@RATE"],
  ["net:stall", "net:stall@RATE[=DURATION]"],
  ["crash:", "crash:node@N[:after=DURATION][:restart=DURATION]"],
];

function crash(countText: string, optionsText: string, fail: (why: string) => never): NonNullable<Draft["crash"]> {
  if (!/^\d{1,6}$/.test(countText)) fail(`node count "${shown(countText)}" is not a whole number`);
  const count = Number(countText);
  inRange(count, CHAOS_LIMITS.crashCount, "node count", "", fail);
  let afterMs: number | undefined;
  let restartDelayMs: number | undefined;
  // optionsText is ":a=1s:b=2s"; split leaves a leading "" for the first colon.
  for (const option of optionsText.split(":").slice(1)) {
    const [name, value, ...extra] = option.split("=");
    if (value === undefined || extra.length > 0) fail(`option "${shown(option)}" is not NAME=DURATION`);
    if (name === "after") {
      if (afterMs !== undefined) fail("after= is given twice");
      afterMs = duration(value ?? "", CHAOS_LIMITS.afterMs, fail);
    } else if (name === "restart") {
      if (restartDelayMs !== undefined) fail("restart= is given twice");
      restartDelayMs = duration(value ?? "", CHAOS_LIMITS.restartDelayMs, fail);
    } else {
      fail(`unknown option "${shown(name ?? "")}" (expected after= or restart=)`);
    }
  }
  return { count, afterMs: afterMs ?? DEFAULT_CRASH_AFTER_MS, restartDelayMs: restartDelayMs ?? DEFAULT_CRASH_RESTART_MS };
}

function fromDraft(d: Draft): ChaosSpec {
  const kills = ACTOR_KINDS.flatMap((kind) => {
    const perSecond = d.kills.get(kind);
    return perSecond === undefined ? [] : [{ kind, perSecond }];
  });
  const hasNet = d.latencyMs !== undefined || d.bandwidth !== undefined || d.resetPerSecond !== undefined || d.stall !== undefined;
  return {
    kills,
    corrupt: d.probability === undefined ? undefined : { probability: d.probability, nodeShare: d.nodeShare ?? DEFAULT_CORRUPT_NODE_SHARE },
    net: !hasNet
      ? undefined
      : {
          latencyMs: d.latencyMs ?? 0,
          bandwidthBytesPerSec: d.bandwidth,
          resetPerSecond: d.resetPerSecond ?? 0,
          stallPerSecond: d.stall?.perSecond ?? 0,
          stallMs: d.stall?.ms ?? DEFAULT_STALL_MS,
        },
    crashNode: d.crash,
  };
}

function isActorKind(text: string): text is ActorKind {
  return (ACTOR_KINDS as readonly string[]).includes(text);
}

/** A NUMBER followed by one of `units`, scaled; fails on anything else. */
function scaled<U extends Record<string, number>>(text: string, units: U, what: string, fail: (why: string) => never): number {
  const m = /^([0-9.eE+-]*)([A-Za-z/]*)$/.exec(text);
  const unit = m?.[2] ?? "";
  if (m === null || !Object.hasOwn(units, unit)) fail(`${what} "${shown(text)}" needs a unit: ${Object.keys(units).join(", ")}`);
  return numeral(m?.[1] ?? "", fail) * (units[unit] as number);
}

function rate(text: string, fail: (why: string) => never): number {
  const m = /^(.*)\/(s|min)$/.exec(text);
  if (m === null) fail(`rate "${shown(text)}" is not NUMBER/s or NUMBER/min`);
  const perSecond = numeral(m?.[1] ?? "", fail) / RATE_UNITS[(m?.[2] ?? "s") as keyof typeof RATE_UNITS];
  return inRange(perSecond, CHAOS_LIMITS.perSecond, "rate", "/s", fail);
}

function duration(text: string, bounds: Bounds, fail: (why: string) => never): number {
  return inRange(scaled(text, DURATION_UNITS, "duration", fail), bounds, "duration", "ms", fail);
}

function size(text: string, bounds: Bounds, fail: (why: string) => never): number {
  return inRange(Math.round(scaled(text, SIZE_UNITS, "size", fail)), bounds, "bandwidth", " B/s", fail);
}

function number(text: string, bounds: Bounds, what: string, fail: (why: string) => never): number {
  return inRange(numeral(text, fail), bounds, what, "", fail);
}

function numeral(text: string, fail: (why: string) => never): number {
  if (text.length > MAX_NUMERAL || !NUMBER.test(text)) fail(`"${shown(text)}" is not a number (digits, an optional fraction and exponent; no sign)`);
  const value = Number(text);
  if (!Number.isFinite(value)) fail(`"${shown(text)}" is too large`);
  return value;
}

function inRange(value: number, bounds: Bounds, what: string, unit: string, fail: (why: string) => never): number {
  if (value < bounds.min || value > bounds.max) {
    const low = bounds.min === Number.MIN_VALUE ? "above 0" : `at least ${bounds.min}${unit}`;
    fail(`${what} ${value}${unit} is out of range (${low}, at most ${bounds.max}${unit})`);
  }
  return value;
}

function shown(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---- formatting -------------------------------------------------------------------------

/** The canonical text of a spec ("none" for no chaos); parseChaosSpec reads it back exactly. */
export function formatChaosSpec(spec: ChaosSpec): string {
  const clauses: string[] = [];
  for (const kind of ACTOR_KINDS) {
    const kill = spec.kills.find((k) => k.kind === kind);
    if (kill !== undefined) clauses.push(`kill:${kind}@${formatRate(kill.perSecond)}`);
  }
  if (spec.corrupt !== undefined) {
    clauses.push(`corrupt:${String(spec.corrupt.probability)}`, `corrupt-nodes:${String(spec.corrupt.nodeShare)}`);
  }
  const net = spec.net;
  if (net !== undefined) {
    const before = clauses.length;
    if (net.latencyMs > 0) clauses.push(`net:latency=${formatDuration(net.latencyMs)}`);
    if (net.bandwidthBytesPerSec !== undefined) clauses.push(`net:bw=${formatSize(net.bandwidthBytesPerSec)}/s`);
    if (net.resetPerSecond > 0) clauses.push(`net:reset@${formatRate(net.resetPerSecond)}`);
    if (net.stallPerSecond > 0) clauses.push(`net:stall@${formatRate(net.stallPerSecond)}=${formatDuration(net.stallMs)}`);
    // A proxy with no fault still runs (and still shows in reports): say so explicitly.
    if (clauses.length === before) clauses.push("net:latency=0ms");
  }
  const crashNode = spec.crashNode;
  if (crashNode !== undefined) {
    clauses.push(`crash:node@${crashNode.count}:after=${formatDuration(crashNode.afterMs)}:restart=${formatDuration(crashNode.restartDelayMs)}`);
  }
  return clauses.length === 0 ? "none" : clauses.join(",");
}

interface TextUnit {
  readonly suffix: string;
  /** The number written before the suffix for a value... */
  readonly toText: (value: number) => number;
  /** ...and the value the parser makes of it (the same arithmetic as parsing). */
  readonly fromText: (n: number) => number;
}

/**
 * The shortest `NUMBER SUFFIX` that parses back to exactly `value` (the first unit always
 * does); with `preferWhole`, a whole number wins over a shorter fraction (500ms, not 0.5s).
 */
function shortestExact(value: number, units: readonly TextUnit[], preferWhole: boolean): string {
  let best: { text: string; rank: number } | undefined;
  for (const unit of units) {
    const number = unit.toText(value);
    const n = String(number);
    if (!NUMBER.test(n) || unit.fromText(Number(n)) !== value) continue;
    const text = n + unit.suffix;
    const rank = text.length + (preferWhole && !Number.isInteger(number) ? 1000 : 0);
    if (best === undefined || rank < best.rank) best = { text, rank };
  }
  return best?.text ?? `${String(value)}${units[0]?.suffix ?? ""}`;
}

const scaledUnits = (units: Record<string, number>, round: boolean): TextUnit[] =>
  Object.entries(units).map(([suffix, unit]) => ({
    suffix,
    toText: (v) => v / unit,
    fromText: (n) => (round ? Math.round(n * unit) : n * unit),
  }));

const RATE_TEXT: readonly TextUnit[] = Object.entries(RATE_UNITS).map(([name, unit]) => ({
  suffix: `/${name}`,
  toText: (v) => v * unit,
  fromText: (n) => n / unit,
}));
const DURATION_TEXT = scaledUnits(DURATION_UNITS, false);
const SIZE_TEXT = scaledUnits(SIZE_UNITS, true);

function formatRate(perSecond: number): string {
  return shortestExact(perSecond, RATE_TEXT, false);
}

function formatDuration(ms: number): string {
  return shortestExact(ms, DURATION_TEXT, true);
}

function formatSize(bytes: number): string {
  return shortestExact(bytes, SIZE_TEXT, true);
}
