/**
 * V8 tuning for a swarmsup process, set once at start-up by the CLI (process-wide choices,
 * so the library leaves them to its host). Each can be turned off by an environment
 * variable, to compare.
 *
 * Heap (SWARMSUP_V8_DEFAULT_HEAP=1 to leave V8's own heuristics): V8 sizes the old
 * generation's limit from the live heap, and starts incremental marking as soon as the
 * room left under that limit is no more than the young generation's capacity (which a
 * transfer grows to its 16 MiB maximum). A swarmsup node's live heap is small (~10 MB:
 * code and actors; piece data is off-heap), so during a transfer its limit sat at ~25 MB
 * and a full mark-compact started every ~40 ms: 37 of them for 512 MiB in bench:pair's
 * downloader, ~0.6 CPU-s per GiB. A fixed growth factor of 5 (old-generation limit = 5 x
 * the live heap after a full GC) leaves room for the young generation; measured: 1-2
 * mark-compacts for the same transfer, user CPU 1.66 -> 1.25 s. The cost is memory: up
 * to ~4 x the live heap of extra garbage before a full GC (~40 MB for one torrent).
 * `--heap-growing-percent` is read whenever V8 recomputes its limits, so setting it here,
 * after start-up, takes effect at the first GC.
 *
 * JIT (SWARMSUP_V8_DEFAULT_JIT=1 to leave V8's default): V8 optimizes a function with
 * TurboFan once it has run through an "interrupt budget" of bytecode (132 KiB by default).
 * A node runs a lot of code that is warm but not hot (actors, timers, protocol messages
 * other than blocks): a 9-node in-process swarm optimized ~340 functions and deoptimized
 * 88 times, and TurboFan's thread was 12-14% of each node process's CPU. A 4 MiB budget
 * leaves that code in the baseline tiers; the byte path is still optimized within its
 * first milliseconds (45 functions, 7 deopts in the same swarm). Measured, alternating
 * runs in one sitting (swarm --mode process, 256 MiB, CPU-s per GiB delivered): N=4
 * 5.11-5.16 -> 4.64-4.86, N=8 5.87-6.15 -> 5.17-5.26, N=16 8.75-9.10 -> 8.31-8.57;
 * a 1 GiB pair download 2.62-3.53 -> 2.86-2.99 (no clear change). Code whose feedback was
 * set up before this runs (module loading) keeps the default budget until it is reset.
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 400;
export const INTERRUPT_BUDGET = 4 * 1024 * 1024;

/** The V8 flags the CLI sets, given the environment's opt-outs. */
export function v8Flags(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags: string[] = [];
  if (env.SWARMSUP_V8_DEFAULT_HEAP !== "1") flags.push(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  if (env.SWARMSUP_V8_DEFAULT_JIT !== "1") flags.push(`--interrupt-budget=${INTERRUPT_BUDGET}`);
  return flags;
}

export function tuneV8(env: NodeJS.ProcessEnv = process.env): void {
  for (const flag of v8Flags(env)) setFlagsFromString(flag);
}
