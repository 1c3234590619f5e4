/**
 * What the swarm's parent and its nodes say to each other: in process mode over Node's IPC
 * channel (child_process.fork), in in-process mode by plain calls. One vocabulary for both,
 * so the parent's bookkeeping cannot tell the modes apart. Everything that crosses a process
 * boundary is read back field by field (fields.ts): a malformed message is an error that
 * says where, never a crash further in.
 */
import type { ChaosEvent } from "./chaosSpec.js";
import { type Fields, bool, fields, int, intValue, list, num, oneOf, optional, str, stringValue } from "./fields.js";
import type { Role } from "./topology.js";

/** Everything one node needs to run (and to run again after a crash: same dirs, same ports). */
export interface NodePlan {
  readonly label: string;
  readonly role: Role;
  readonly host: string;
  /** The listener's port; 0 picks one. A node restarted after a crash asks for its old one. */
  readonly port: number;
  /** The chaos proxy's port in front of the listener (used only with net chaos); 0 picks one. */
  readonly proxyPort: number;
  readonly torrentFile: string;
  /** The seed: the payload itself. A node: its download directory (files land in dir/<name>). */
  readonly data: string;
  /** Actor kills and link faults for this node, as chaos spec text ("" for none). */
  readonly chaos: string;
  readonly killSeed: number;
  readonly netSeed: number;
  /** This node lies: a share of the blocks it serves carry a flipped byte. */
  readonly corrupt: { readonly probability: number; readonly seed: number } | undefined;
  /** Read every piece back from disk at the moment it is marked have (swarm/audit.ts). */
  readonly audit: boolean;
  readonly progressMs: number;
}

export type Phase = "checking" | "leeching" | "seeding" | "stopped";
const PHASES: readonly Phase[] = ["checking", "leeching", "seeding", "stopped"];

/** A node's torrent at one moment. */
export interface Sample {
  readonly phase: Phase;
  readonly have: number;
  readonly pieces: number;
  /** Verified payload bytes fetched by this torrent's current state (see invariants.ts). */
  readonly downloaded: number;
  readonly uploaded: number;
  readonly hashFails: number;
  readonly wastedBlocks: number;
  readonly peersSeen: number;
  readonly rssBytes: number;
  /** CPU time (user + system, microseconds) of the member's process so far (in-process: the shared process's). */
  readonly cpuMicros: number;
  /** Pieces the audit read back so far, and how many of them were wrong on disk. */
  readonly audited: number;
  readonly auditMismatches: number;
}

export interface AuditResult {
  readonly checked: number;
  /** Pieces whose bytes on disk did not match their hash when they were marked have (first 64). */
  readonly mismatches: readonly number[];
  readonly mismatchCount: number;
}

/** What a node knows at its end. */
export interface NodeFinal {
  readonly sample: Sample;
  readonly banned: readonly string[];
  /** Per host, the blocks this node caught it lying about (smart ban strikes). */
  readonly strikes: readonly { readonly host: string; readonly strikes: number }[];
  readonly audit: AuditResult;
  /** Peak resident set of the node's process (process mode; in-process: the shared process's). */
  readonly peakRssBytes: number;
}

export type NodeReport =
  | { readonly t: "ready"; readonly port: number; readonly proxyPort: number | undefined; readonly pid: number }
  | { readonly t: "progress"; readonly sample: Sample }
  | { readonly t: "complete"; readonly sample: Sample }
  | { readonly t: "chaos"; readonly event: ChaosEvent }
  /** A supervisor restarted a child (runtime event); `cause` is the exit that caused it. */
  | { readonly t: "restarted"; readonly childId: string; readonly cause: string }
  /** A restart's start failed; a retry is queued (runtime event). */
  | { readonly t: "restartFailed"; readonly childId: string }
  | { readonly t: "escalated"; readonly cause: string }
  /** An actor of the node's tree exited `killed` (by the chaos monkey, or a brutal shutdown). */
  | { readonly t: "killed"; readonly behaviour: string }
  | { readonly t: "final"; readonly final: NodeFinal }
  | { readonly t: "failed"; readonly message: string };

export type NodeCommand = { readonly t: "start"; readonly plan: NodePlan } | { readonly t: "stop" };

// ---- reading them back ------------------------------------------------------------------

const MAX_COUNT = Number.MAX_SAFE_INTEGER;

export function readCommand(value: unknown): NodeCommand {
  const o = fields(value, "command");
  const t = oneOf(o, "t", "command", ["start", "stop"] as const);
  return t === "stop" ? { t } : { t, plan: readPlan(o.plan) };
}

export function readPlan(value: unknown): NodePlan {
  const w = "plan";
  const o = fields(value, w);
  return {
    label: str(o, "label", w, 64),
    role: oneOf(o, "role", w, ["seed", "leech"] as const),
    host: str(o, "host", w, 64),
    port: int(o, "port", w, 0, 65535),
    proxyPort: int(o, "proxyPort", w, 0, 65535),
    torrentFile: str(o, "torrentFile", w),
    data: str(o, "data", w),
    chaos: str(o, "chaos", w),
    killSeed: int(o, "killSeed", w, 0, 0xffffffff),
    netSeed: int(o, "netSeed", w, 0, 0xffffffff),
    corrupt: optional(o, "corrupt", (p) => {
      const c = fields(p.corrupt, `${w}.corrupt`);
      return { probability: num(c, "probability", `${w}.corrupt`), seed: int(c, "seed", `${w}.corrupt`, 0, 0xffffffff) };
    }),
    audit: bool(o, "audit", w),
    progressMs: int(o, "progressMs", w, 10, 60_000),
  };
}

function readSample(value: unknown, w: string): Sample {
  const o = fields(value, w);
  return {
    phase: oneOf(o, "phase", w, PHASES),
    have: int(o, "have", w),
    pieces: int(o, "pieces", w),
    downloaded: int(o, "downloaded", w, 0, MAX_COUNT),
    uploaded: int(o, "uploaded", w, 0, MAX_COUNT),
    hashFails: int(o, "hashFails", w),
    wastedBlocks: int(o, "wastedBlocks", w),
    peersSeen: int(o, "peersSeen", w),
    rssBytes: int(o, "rssBytes", w),
    cpuMicros: int(o, "cpuMicros", w, 0, MAX_COUNT),
    audited: int(o, "audited", w),
    auditMismatches: int(o, "auditMismatches", w),
  };
}

function readFinal(value: unknown): NodeFinal {
  const w = "final";
  const o = fields(value, w);
  const audit = fields(o.audit, `${w}.audit`);
  return {
    sample: readSample(o.sample, `${w}.sample`),
    banned: list(o, "banned", w, 100_000, (v, at) => stringValue(v, at, 64)),
    strikes: list(o, "strikes", w, 100_000, (v, at) => {
      const s = fields(v, at);
      return { host: str(s, "host", at, 64), strikes: int(s, "strikes", at) };
    }),
    audit: {
      checked: int(audit, "checked", `${w}.audit`),
      mismatches: list(audit, "mismatches", `${w}.audit`, 64, (v, at) => intValue(v, at)),
      mismatchCount: int(audit, "mismatchCount", `${w}.audit`),
    },
    peakRssBytes: int(o, "peakRssBytes", w),
  };
}

/** Chaos events are the chaos helper's type; read here by their fields so a bad one names itself. */
function readChaosEvent(value: unknown): ChaosEvent {
  const w = "chaos event";
  const o: Fields = fields(value, w);
  const t = num(o, "t", w);
  const node = str(o, "node", w, 64);
  const kind = oneOf(o, "kind", w, ["kill", "netReset", "netStall", "crashNode", "restartNode"] as const);
  switch (kind) {
    case "kill":
      return { t, kind, node, actor: oneOf(o, "actor", w, ["peer", "io", "piece_mgr", "torrent_ctl", "announcer", "torrent"] as const), name: str(o, "name", w, 512) };
    case "netReset":
    case "netStall":
      return { t, kind, node, link: str(o, "link", w, 128) };
    case "crashNode":
    case "restartNode":
      return { t, kind, node };
    default: {
      const never: never = kind;
      throw new Error(`unknown chaos event kind ${String(never)}`);
    }
  }
}

export function readReport(value: unknown): NodeReport {
  const w = "report";
  const o = fields(value, w);
  const t = oneOf(o, "t", w, ["ready", "progress", "complete", "chaos", "restarted", "restartFailed", "escalated", "killed", "final", "failed"] as const);
  switch (t) {
    case "ready":
      return { t, port: int(o, "port", w, 1, 65535), proxyPort: optional(o, "proxyPort", (p) => int(p, "proxyPort", w, 1, 65535)), pid: int(o, "pid", w) };
    case "progress":
    case "complete":
      return { t, sample: readSample(o.sample, `${w}.sample`) };
    case "chaos":
      return { t, event: readChaosEvent(o.event) };
    case "restarted":
      return { t, childId: str(o, "childId", w, 256), cause: str(o, "cause", w, 64) };
    case "restartFailed":
      return { t, childId: str(o, "childId", w, 256) };
    case "escalated":
      return { t, cause: str(o, "cause", w, 64) };
    case "killed":
      return { t, behaviour: str(o, "behaviour", w, 128) };
    case "final":
      return { t, final: readFinal(o.final) };
    case "failed":
      return { t, message: str(o, "message", w, 8192) };
    default: {
      const never: never = t;
      throw new Error(`unknown report ${String(never)}`);
    }
  }
}
