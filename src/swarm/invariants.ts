/**
 * The invariants every swarm run checks at its end, as pure judgements over what the run
 * collected (run.ts gathers the facts; nothing here does IO). Each returns a verdict with its
 * evidence; the run fails (exit 1) on the first broken one, naming it.
 *
 * - allComplete: every node had every piece before the timeout.
 * - integrity: every member's files (the seed's included: lying uploads must not touch the
 *   seed's data) have the sha256 the payload had before the run.
 * - haveAfterWrite (DESIGN invariant 1): the audit read every piece back from disk at the
 *   moment it was marked have, and none was wrong; and it did read them (a node that fetched
 *   pieces but audited none means the audit was not wired).
 * - noVerifiedPieceLost (invariant 5, sampled): a member's have count, read every progress
 *   interval outside its start-up check, never went down: not across piece-manager or
 *   torrent restarts, not across a SIGKILL of its process and the restart on the same dir.
 * - noPieceFetchedTwice: verified bytes fetched, summed over every torrent incarnation and
 *   process of a node, are at most the payload's size. Slack zero: `downloaded` counts a
 *   piece once per TorrentState and only when it was not had, and whatever a dead
 *   incarnation had verified and written is found again by the next one's check (page
 *   cache survives SIGKILL); what a restart really loses (pieces in flight, at most 64 MiB
 *   per piece manager) was never counted. (Samples may miss the last interval before a
 *   kill, which can only lower the sum.)
 * - resumeAfterCrash: after each SIGKILL, the member's resume file is either absent (it had
 *   not saved yet) or decodes whole (atomic replace) and every piece it claims is valid on
 *   disk.
 * - liarsBanned: an honest node that caught a liar `banAfter` times (smart ban's threshold)
 *   has banned it. One bad block is not enough to ban, by design, so a node that got a
 *   single bad block from a liar need not ban it. (Strikes and bans belong to a torrent's
 *   state: a node whose process was restarted judges from its last incarnation.)
 * - honestNeverBlamed: no member struck or banned a host that is not a liar.
 * - memoryBound: process mode: every node process's peak RSS stayed under the bound;
 *   in-process mode: the one process's peak RSS did.
 */
import { assertNever } from "../runtime/index.js";
import type { CrashCheck, HaveDrop } from "./ledger.js";
import type { Role } from "./topology.js";

export const INVARIANTS = [
  "allComplete",
  "integrity",
  "haveAfterWrite",
  "noVerifiedPieceLost",
  "noPieceFetchedTwice",
  "resumeAfterCrash",
  "liarsBanned",
  "honestNeverBlamed",
  "memoryBound",
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

export type InvariantVerdict =
  | { readonly kind: "held"; readonly invariant: InvariantName; readonly evidence: string }
  | { readonly kind: "broken"; readonly invariant: InvariantName; readonly node: string | undefined; readonly evidence: string };

export type IntegrityFinding =
  | { readonly kind: "match"; readonly files: number }
  | { readonly kind: "mismatch"; readonly file: string }
  | { readonly kind: "unreadable"; readonly file: string; readonly why: string };

export interface MemberFacts {
  readonly label: string;
  readonly role: Role;
  readonly host: string;
  readonly have: number;
  readonly complete: boolean;
  readonly integrity: IntegrityFinding;
  readonly audited: number;
  readonly auditMismatches: number;
  readonly auditMismatchPieces: readonly number[];
  readonly dropCount: number;
  readonly drops: readonly HaveDrop[];
  readonly fetchedBytes: number;
  readonly crashes: readonly CrashCheck[];
  readonly banned: readonly string[];
  readonly strikes: readonly { readonly host: string; readonly strikes: number }[];
  readonly peakRssBytes: number;
  /** Supervisors in its tree that gave up (max restart intensity): a torrent may be dropped. */
  readonly escalations: number;
}

export type MemoryScope = { readonly kind: "perNodeProcess" } | { readonly kind: "wholeProcess"; readonly peakRssBytes: number };

export interface RunFacts {
  readonly members: readonly MemberFacts[];
  readonly pieces: number;
  readonly payloadBytes: number;
  readonly timeoutSeconds: number;
  /** The signal that interrupted the run before every node completed, if one did. */
  readonly interruptedBy?: string;
  readonly audit: boolean;
  /** Hosts of the members that lie. */
  readonly liars: readonly string[];
  readonly banAfter: number;
  readonly memory: MemoryScope;
  readonly memoryBoundBytes: number;
}

const held = (invariant: InvariantName, evidence: string): InvariantVerdict => ({ kind: "held", invariant, evidence });
const broken = (invariant: InvariantName, node: string | undefined, evidence: string): InvariantVerdict => ({ kind: "broken", invariant, node, evidence });
const MiB = 1024 * 1024;

export function judgeRun(facts: RunFacts): InvariantVerdict[] {
  return INVARIANTS.map((name) => judge(name, facts));
}

export function judge(name: InvariantName, facts: RunFacts): InvariantVerdict {
  switch (name) {
    case "allComplete":
      return allComplete(facts);
    case "integrity":
      return integrity(facts);
    case "haveAfterWrite":
      return haveAfterWrite(facts);
    case "noVerifiedPieceLost":
      return noVerifiedPieceLost(facts);
    case "noPieceFetchedTwice":
      return noPieceFetchedTwice(facts);
    case "resumeAfterCrash":
      return resumeAfterCrash(facts);
    case "liarsBanned":
      return liarsBanned(facts);
    case "honestNeverBlamed":
      return honestNeverBlamed(facts);
    case "memoryBound":
      return memoryBound(facts);
    default:
      return assertNever(name, "invariant");
  }
}

function allComplete(f: RunFacts): InvariantVerdict {
  const late = f.members.find((m) => !m.complete);
  if (late !== undefined) {
    const gaveUp = f.members.filter((m) => m.escalations > 0).map((m) => m.label);
    const why = gaveUp.length === 0 ? "" : ` (supervisors gave up on ${gaveUp.join(", ")}: restart intensity reached)`;
    const when = f.interruptedBy === undefined ? `the ${f.timeoutSeconds} s timeout passed` : `the run was interrupted by ${f.interruptedBy}`;
    return broken("allComplete", late.label, `${late.label} had ${late.have} of ${f.pieces} pieces when ${when}${why}`);
  }
  return held("allComplete", `${f.members.length} members had all ${f.pieces} pieces`);
}

function integrity(f: RunFacts): InvariantVerdict {
  for (const m of f.members) {
    switch (m.integrity.kind) {
      case "match":
        continue;
      case "mismatch":
        return broken("integrity", m.label, `${m.label}'s ${m.integrity.file} differs from the payload (sha256)`);
      case "unreadable":
        return broken("integrity", m.label, `${m.label}'s ${m.integrity.file} could not be read: ${m.integrity.why}`);
      default:
        return assertNever(m.integrity, "integrity finding");
    }
  }
  return held("integrity", `sha256 of every file matched on all ${f.members.length} members`);
}

function haveAfterWrite(f: RunFacts): InvariantVerdict {
  if (!f.audit) return held("haveAfterWrite", "not audited in this run");
  for (const m of f.members) {
    if (m.auditMismatches > 0) {
      return broken("haveAfterWrite", m.label, `${m.label}: ${m.auditMismatches} piece(s) read back wrong from disk when marked have (e.g. ${m.auditMismatchPieces.slice(0, 5).join(", ")})`);
    }
    if (m.fetchedBytes > 0 && m.audited === 0) return broken("haveAfterWrite", m.label, `${m.label} fetched ${m.fetchedBytes} bytes but audited no piece: the audit is not wired`);
  }
  const audited = f.members.reduce((n, m) => n + m.audited, 0);
  return held("haveAfterWrite", `${audited} pieces read back from disk as they were marked have, all matching their hash`);
}

function noVerifiedPieceLost(f: RunFacts): InvariantVerdict {
  for (const m of f.members) {
    const drop = m.drops[0];
    if (drop !== undefined) return broken("noVerifiedPieceLost", m.label, `${m.label}'s have went from ${drop.before} to ${drop.after} pieces at ${(drop.atMs / 1000).toFixed(1)} s (${m.dropCount} drop(s))`);
  }
  const crashes = f.members.reduce((n, m) => n + m.crashes.length, 0);
  return held("noVerifiedPieceLost", `have never went down on any member${crashes > 0 ? `, across ${crashes} process kill(s)` : ""}`);
}

function noPieceFetchedTwice(f: RunFacts): InvariantVerdict {
  for (const m of f.members) {
    if (m.fetchedBytes > f.payloadBytes) return broken("noPieceFetchedTwice", m.label, `${m.label} fetched ${m.fetchedBytes} verified bytes of a ${f.payloadBytes}-byte payload`);
  }
  return held("noPieceFetchedTwice", `no member fetched more verified bytes than the payload's ${f.payloadBytes}`);
}

function resumeAfterCrash(f: RunFacts): InvariantVerdict {
  let checked = 0;
  for (const m of f.members) {
    for (const c of m.crashes) {
      switch (c.resume.kind) {
        case "noFile":
          continue;
        case "unusable":
          return broken("resumeAfterCrash", m.label, `${m.label}'s resume file after SIGKILL is unusable: ${c.resume.why}`);
        case "checked":
          if (c.resume.invalid.length > 0) {
            return broken("resumeAfterCrash", m.label, `${m.label}'s resume file claims ${c.resume.invalid.length} piece(s) not valid on disk after SIGKILL (e.g. ${c.resume.invalid.slice(0, 5).join(", ")})`);
          }
          checked++;
          continue;
        default:
          return assertNever(c.resume, "resume verdict");
      }
    }
  }
  const crashes = f.members.reduce((n, m) => n + m.crashes.length, 0);
  if (crashes === 0) return held("resumeAfterCrash", "no process was killed");
  return held("resumeAfterCrash", `${crashes} SIGKILL(s): ${checked} resume file(s) decoded whole with every claimed piece valid on disk, ${crashes - checked} not saved yet`);
}

function liarsBanned(f: RunFacts): InvariantVerdict {
  const liars = new Set(f.liars);
  let bans = 0;
  for (const m of f.members) {
    if (liars.has(m.host)) continue;
    const banned = new Set(m.banned);
    for (const { host, strikes } of m.strikes) {
      if (!liars.has(host) || strikes < f.banAfter) continue;
      if (!banned.has(host)) return broken("liarsBanned", m.label, `${m.label} caught liar ${host} ${strikes} times and did not ban it`);
      bans++;
    }
  }
  if (liars.size === 0) return held("liarsBanned", "no liars in this run");
  return held("liarsBanned", `${bans} ban(s) of ${liars.size} liar(s); every honest node that caught a liar ${f.banAfter}+ times banned it`);
}

function honestNeverBlamed(f: RunFacts): InvariantVerdict {
  const liars = new Set(f.liars);
  for (const m of f.members) {
    const struck = m.strikes.find((s) => s.strikes > 0 && !liars.has(s.host));
    if (struck !== undefined) return broken("honestNeverBlamed", m.label, `${m.label} struck ${struck.host}, which never lied`);
    const banned = m.banned.find((h) => !liars.has(h));
    if (banned !== undefined) return broken("honestNeverBlamed", m.label, `${m.label} banned ${banned}, which never lied`);
  }
  return held("honestNeverBlamed", "no honest host was struck or banned");
}

function memoryBound(f: RunFacts): InvariantVerdict {
  const bound = f.memoryBoundBytes;
  const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;
  switch (f.memory.kind) {
    case "wholeProcess":
      if (f.memory.peakRssBytes >= bound) return broken("memoryBound", undefined, `the swarm process peaked at ${mib(f.memory.peakRssBytes)} RSS, bound ${mib(bound)}`);
      return held("memoryBound", `the swarm process peaked at ${mib(f.memory.peakRssBytes)} RSS (bound ${mib(bound)})`);
    case "perNodeProcess": {
      const worst = f.members.reduce((a, b) => (b.peakRssBytes > a.peakRssBytes ? b : a), f.members[0] as MemberFacts);
      if (worst.peakRssBytes >= bound) return broken("memoryBound", worst.label, `${worst.label}'s process peaked at ${mib(worst.peakRssBytes)} RSS, bound ${mib(bound)}`);
      return held("memoryBound", `peak RSS per node process at most ${mib(worst.peakRssBytes)} (${worst.label}; bound ${mib(bound)})`);
    }
    default:
      return assertNever(f.memory, "memory scope");
  }
}
