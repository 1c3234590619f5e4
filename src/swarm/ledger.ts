/**
 * The parent's book of one swarm member, kept from its reports (messages.ts) across every
 * incarnation: a restarted process starts its counters at zero, and a torrent restarted
 * inside a process starts a new TorrentState, so the ledger carries the totals over.
 *
 * What it keeps, bounded: the last sample; the highest `have` seen outside the start-up
 * check and every drop below it (the first 16: pieces lost); verified bytes fetched summed
 * over torrent incarnations; audit counts summed over processes; restarts per child id and
 * their causes; failed restart attempts; escalations; the first time the member was complete; peak RSS.
 */
import type { NodeFinal, Sample } from "./messages.js";
import type { Member } from "./topology.js";

const KEPT_DROPS = 16;

export interface HaveDrop {
  readonly atMs: number;
  readonly before: number;
  readonly after: number;
}

/** What the parent found on disk after it SIGKILLed the member (process mode). */
export interface CrashCheck {
  readonly atMs: number;
  /** The highest have the member reported before the kill. */
  readonly haveBefore: number;
  readonly resume: ResumeVerdict;
}

export type ResumeVerdict =
  | { readonly kind: "noFile" }
  | { readonly kind: "unusable"; readonly why: string }
  | { readonly kind: "checked"; readonly claimed: number; readonly invalid: readonly number[] };

export class MemberLedger {
  incarnations = 0;
  completeAtMs: number | undefined;
  /** Its process's CPU (microseconds) when it first reported complete: for the seed, the end of its check. */
  cpuAtCompleteMicros: number | undefined;
  last: Sample | undefined;
  final: NodeFinal | undefined;
  maxHave = 0;
  readonly drops: HaveDrop[] = [];
  dropCount = 0;
  readonly restarts = new Map<string, number>();
  readonly restartCauses = new Map<string, number>();
  /** Restart attempts whose start failed (a retry followed), per child kind. */
  readonly failedRestarts = new Map<string, number>();
  escalations = 0;
  /** Actors of its tree that exited `killed`, by behaviour (the runtime's view of the kills). */
  readonly killedExits = new Map<string, number>();
  peakRssBytes = 0;
  readonly crashes: CrashCheck[] = [];
  /** Kills, resets, stalls recorded by this member's chaos actors, by kind. */
  readonly chaos = new Map<string, number>();
  private downloadedClosed = 0;
  private downloadedOpen = 0;
  private auditedClosed = 0;
  private mismatchesClosed = 0;

  constructor(readonly member: Member) {}

  /** A new process for this member (the first one too). */
  newIncarnation(): void {
    this.incarnations++;
    this.downloadedClosed += this.downloadedOpen;
    this.downloadedOpen = 0;
    this.auditedClosed += this.last?.audited ?? 0;
    this.mismatchesClosed += this.last?.auditMismatches ?? 0;
    this.last = undefined;
  }

  sample(s: Sample, atMs: number): void {
    // Counters only grow within one TorrentState: a smaller one is a restarted torrent.
    if (s.downloaded < this.downloadedOpen) this.downloadedClosed += this.downloadedOpen;
    this.downloadedOpen = s.downloaded;
    this.peakRssBytes = Math.max(this.peakRssBytes, s.rssBytes);
    this.last = s;
    if (s.phase === "checking") return; // have is being rebuilt by the check
    if (s.have < this.maxHave) {
      this.dropCount++;
      if (this.drops.length < KEPT_DROPS) this.drops.push({ atMs, before: this.maxHave, after: s.have });
    }
    this.maxHave = Math.max(this.maxHave, s.have);
  }

  complete(s: Sample, atMs: number): void {
    this.sample(s, atMs);
    this.completeAtMs ??= atMs;
    this.cpuAtCompleteMicros ??= s.cpuMicros;
  }

  restarted(childId: string, cause: string): void {
    increment(this.restarts, childKind(childId));
    increment(this.restartCauses, cause);
  }

  restartFailed(childId: string): void {
    increment(this.failedRestarts, childKind(childId));
  }

  killed(behaviour: string): void {
    increment(this.killedExits, behaviour);
  }

  chaosEvent(kind: string): void {
    increment(this.chaos, kind);
  }

  finished(final: NodeFinal, atMs: number): void {
    this.sample(final.sample, atMs);
    this.final = final;
    this.peakRssBytes = Math.max(this.peakRssBytes, final.peakRssBytes);
  }

  /** Verified payload bytes fetched, summed over every torrent incarnation and process. */
  get fetchedBytes(): number {
    return this.downloadedClosed + this.downloadedOpen;
  }

  get audited(): number {
    return this.auditedClosed + (this.last?.audited ?? 0);
  }

  get auditMismatches(): number {
    return this.mismatchesClosed + (this.last?.auditMismatches ?? 0);
  }

  get restartTotal(): number {
    let n = 0;
    for (const v of this.restarts.values()) n += v;
    return n;
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** A supervisor child id as a kind: "file_io/3" -> "file_io"; the rest as they are. */
export function childKind(childId: string): string {
  const slash = childId.indexOf("/");
  return slash < 0 ? childId : childId.slice(0, slash);
}
