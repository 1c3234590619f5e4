/**
 * The seeded randomness of every chaos actor, as pure functions (so a run can be predicted
 * and replayed):
 * - each fault stream (kills of one actor kind, net resets, net stalls) gets its own
 *   generators, derived from the run's seed and the stream's label, one for timing and one
 *   for victims. So a stream's times depend only on (seed, label, rate), never on how many
 *   victims there were or on the other streams;
 * - times are a Poisson process: exponential gaps with mean 1/rate, accumulated from the
 *   stream's start (absolute due times, so handling lag never drifts the schedule);
 * - a victim is drawn uniformly from the candidates sorted by name, so the same seed and
 *   the same sequence of live candidates give the same choices. No candidate: no draw.
 */
import { seededRandom } from "./corruptReader.js";

/** An independent 32-bit seed for `label` under `seed` (FNV-1a over the label, then mixed). */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The two generators of one fault stream. */
export interface FaultStream {
  /** Milliseconds from the previous fault (or the stream's start) to the next. */
  readonly nextGapMs: () => number;
  /** Uniform in [0, 1): which candidate. */
  readonly victim: () => number;
}

export function faultStream(seed: number, label: string, perSecond: number): FaultStream {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`fault rate must be a positive number, got ${perSecond}`);
  const timing = seededRandom(deriveSeed(seed, `${label}/timing`));
  return {
    // 1 - u is in (0, 1], so the log is finite.
    nextGapMs: () => (-Math.log(1 - timing()) / perSecond) * 1000,
    victim: seededRandom(deriveSeed(seed, `${label}/victim`)),
  };
}

/** The due times (ms from the stream's start) of a stream's faults up to `horizonMs`, at most `max`. */
export function faultTimes(seed: number, label: string, perSecond: number, horizonMs: number, max = 100_000): number[] {
  const stream = faultStream(seed, label, perSecond);
  const times: number[] = [];
  for (let t = stream.nextGapMs(); t <= horizonMs && times.length < max; t += stream.nextGapMs()) times.push(t);
  return times;
}

export interface Candidate<T> {
  /** What the choice is sorted by: stable across runs (a registered name, a link's address). */
  readonly name: string;
  readonly value: T;
}

export type VictimChoice<T> = { readonly kind: "victim"; readonly name: string; readonly value: T } | { readonly kind: "none" };

/** A uniform choice among candidates by name; draws from `random` only when there is one. */
export function pickVictim<T>(random: () => number, candidates: readonly Candidate<T>[]): VictimChoice<T> {
  if (candidates.length === 0) return { kind: "none" };
  const sorted = [...candidates].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const chosen = sorted[Math.min(sorted.length - 1, Math.floor(random() * sorted.length))] as Candidate<T>;
  return { kind: "victim", name: chosen.name, value: chosen.value };
}
