/**
 * V8 heap tuning for a swarmsup process, set once at start-up by the CLI (a process-wide
 * choice, so the library leaves it to its host).
 *
 * Why: V8 sizes the old generation's limit from the live heap, and starts incremental
 * marking as soon as the room left under that limit is no more than the young
 * generation's capacity (which a transfer grows to its 16 MiB maximum). A swarmsup node's
 * live heap is small (~10 MB: code and actors; piece data is off-heap), so during a
 * transfer its limit sat at ~25 MB and a full mark-compact started every ~40 ms:
 * 37 of them for 512 MiB in bench:pair's downloader, ~0.6 CPU-s per GiB. A fixed growth
 * factor of 5 (old-generation limit = 5 x the live heap after a full GC) leaves room
 * for the young generation; measured: 1-2 mark-compacts for the same transfer, user
 * CPU 1.66 -> 1.25 s. The cost is memory: up to ~4 x the live heap of extra garbage
 * before a full GC (~40 MB for one torrent).
 *
 * `--heap-growing-percent` is read whenever V8 recomputes its limits, so setting it here,
 * after start-up, takes effect at the first GC. Set SWARMSUP_V8_DEFAULT_HEAP=1 to leave
 * V8's own heuristics in place (to compare).
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 400;

export function tuneHeap(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SWARMSUP_V8_DEFAULT_HEAP === "1") return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
