/**
 * BEP 12 multitracker tiers and per-tracker back-off, as pure functions over immutable
 * values (the announcer holds the current value and replaces it).
 *
 * - Tiers are tried in order; within a tier, trackers in order. Each tier is shuffled once,
 *   when the announcer starts; a tracker that answers moves to the front of its tier.
 * - One tracker is asked at a time: the first one (tier order) whose back-off has passed.
 * - A failure backs that tracker off: base x 2^(failures-1), capped; a tracker's BEP 31
 *   `retry in` lengthens it, and "never" retires the tracker for this run.
 * - Which event a tracker hears is per tracker: `started` until it acknowledged one, then
 *   `completed` once if the download completed during this run, else none.
 * - Failures are logged once per tracker and reason: the verdict says whether this reason
 *   is new for the tracker (log it) or a repeat (don't).
 */
import { parseTrackerUrl, type AnnounceEvent, type TrackerUrl } from "../../src/protocol/tracker/index.js";

export interface TrackerEntry {
  readonly url: TrackerUrl;
  /** Consecutive failures since the last answer. */
  readonly failures: number;
  /** Not asked before this time (runtime clock, ms); Infinity = retired ("retry in: never"). */
  readonly retryAt: number;
  /** The failure reason last logged for this tracker; undefined after an answer. */
  readonly loggedFailure: string | undefined;
  readonly loggedWarning: string | undefined;
  readonly startedSent: boolean;
  readonly completedSent: boolean;
  readonly trackerId: Buffer | undefined;
}

export type Tiers = readonly (readonly TrackerEntry[])[];

export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface BuiltTiers {
  readonly tiers: Tiers;
  /** URLs we cannot use (bad syntax, unsupported scheme), with why. */
  readonly rejected: readonly { readonly href: string; readonly reason: string }[];
}

const fresh = (url: TrackerUrl): TrackerEntry => ({
  url,
  failures: 0,
  retryAt: 0,
  loggedFailure: undefined,
  loggedWarning: undefined,
  startedSent: false,
  completedSent: false,
  trackerId: undefined,
});

/** Parses, de-duplicates (first occurrence wins), drops empty tiers, shuffles within each tier. */
export function buildTiers(announceList: readonly (readonly string[])[], random: () => number): BuiltTiers {
  const seen = new Set<string>();
  const rejected: { href: string; reason: string }[] = [];
  const tiers: TrackerEntry[][] = [];
  for (const tier of announceList) {
    const entries: TrackerEntry[] = [];
    for (const text of tier) {
      const v = parseTrackerUrl(text);
      if (v.kind === "rejected") {
        rejected.push({ href: v.href, reason: v.reason });
        continue;
      }
      if (seen.has(v.href)) continue;
      seen.add(v.href);
      entries.push(fresh(v));
    }
    if (entries.length > 0) tiers.push(shuffle(entries, random));
  }
  return { tiers, rejected };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export type Pick =
  | { readonly kind: "try"; readonly entry: TrackerEntry }
  /** Every tracker is backing off: the earliest is due at `at`. */
  | { readonly kind: "wait"; readonly at: number }
  /** Every tracker retired itself. */
  | { readonly kind: "none" };

export function nextTracker(tiers: Tiers, now: number): Pick {
  let earliest = Infinity;
  for (const tier of tiers) {
    for (const entry of tier) {
      if (entry.retryAt <= now) return { kind: "try", entry };
      earliest = Math.min(earliest, entry.retryAt);
    }
  }
  return earliest === Infinity ? { kind: "none" } : { kind: "wait", at: earliest };
}

export function findTracker(tiers: Tiers, href: string): TrackerEntry | undefined {
  for (const tier of tiers) for (const entry of tier) if (entry.url.href === href) return entry;
  return undefined;
}

/** What `href` hears next: `started` until acknowledged; `completed` once if the download completed in this run. */
export function eventFor(entry: TrackerEntry, completedInThisRun: boolean): AnnounceEvent {
  if (!entry.startedSent) return "started";
  if (completedInThisRun && !entry.completedSent) return "completed";
  return "none";
}

export function backoffMs(failures: number, policy: Backoff): number {
  if (failures <= 0) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - 1, 30));
}

function update(tiers: Tiers, href: string, change: (e: TrackerEntry) => TrackerEntry, toFront: boolean): Tiers {
  return tiers.map((tier) => {
    const i = tier.findIndex((e) => e.url.href === href);
    if (i < 0) return tier;
    const changed = change(tier[i] as TrackerEntry);
    if (!toFront) return tier.map((e, j) => (j === i ? changed : e));
    return [changed, ...tier.slice(0, i), ...tier.slice(i + 1)];
  });
}

export interface Answered {
  readonly tiers: Tiers;
  /** The failure this answer ends, if the tracker was failing (log the recovery). */
  readonly recoveredFrom: string | undefined;
  /** A warning message that is new for this tracker (log it), if any. */
  readonly newWarning: string | undefined;
}

export interface AnsweredFacts {
  readonly event: AnnounceEvent;
  /** Bytes left when the announce was sent: a `started` with nothing left means `completed` is moot. */
  readonly left: number;
  readonly trackerId: Buffer | undefined;
  readonly warning: string | undefined;
}

/** The tracker answered: it moves to the front of its tier, its failures are forgotten. */
export function recordAnswer(tiers: Tiers, href: string, facts: AnsweredFacts): Answered {
  const before = findTracker(tiers, href);
  const newWarning = facts.warning !== undefined && facts.warning !== before?.loggedWarning ? facts.warning : undefined;
  const next = update(
    tiers,
    href,
    (e) => ({
      ...e,
      failures: 0,
      retryAt: 0,
      loggedFailure: undefined,
      loggedWarning: facts.warning ?? e.loggedWarning,
      // BEP 3: `completed` is not sent for a download that was complete when it started.
      startedSent: e.startedSent || facts.event === "started",
      completedSent: e.completedSent || facts.event === "completed" || (facts.event === "started" && facts.left === 0),
      trackerId: facts.trackerId ?? e.trackerId,
    }),
    true,
  );
  return { tiers: next, recoveredFrom: before?.loggedFailure, newWarning };
}

export type FailureVerdict =
  /** First failure of this tracker with this reason: log it. */
  | { readonly kind: "newFailure"; readonly tiers: Tiers; readonly retryAt: number; readonly failures: number }
  /** The same reason again: already logged. */
  | { readonly kind: "repeatFailure"; readonly tiers: Tiers; readonly retryAt: number; readonly failures: number };

export function recordFailure(tiers: Tiers, href: string, reason: string, now: number, policy: Backoff, retryInMs?: number): FailureVerdict {
  const before = findTracker(tiers, href);
  const failures = (before?.failures ?? 0) + 1;
  const retryAt = now + Math.max(backoffMs(failures, policy), retryInMs ?? 0);
  const next = update(tiers, href, (e) => ({ ...e, failures, retryAt, loggedFailure: reason }), false);
  const kind = before?.loggedFailure === reason ? "repeatFailure" : "newFailure";
  return { kind, tiers: next, retryAt, failures };
}

/** Trackers to tell `stopped`: those that heard our `started`. */
export function startedTrackers(tiers: Tiers): TrackerEntry[] {
  return tiers.flat().filter((e) => e.startedSent);
}
