/**
 * Why every fan-out run starts after a pause, and why the clients take turns going first.
 *
 * A fan-out of N nodes writes N copies of the payload into the page cache. On this project's
 * machines (a VM whose balloon reports free memory back to the host) the cost of those writes
 * depends on what the machine did just before: memory freed a moment ago is still backed by
 * the host and cheap to fill again, memory freed ~10 s ago has gone back to the host and every
 * page of it faults in at its first touch. Measured with 256 KiB pwrites of 3 x 1 GiB files
 * (`/usr/bin/python3`, files kept, then deleted): right after the previous 3 GiB were deleted
 * 0.18 sys-s per GiB; 3 s later 0.20-0.48; 6 s later up to 1.30; 10 s later 2.1-2.4.
 *
 * Before this pause the libtorrent swarm ran right after swarmsup's had deleted its N copies,
 * so it filled warm memory that swarmsup's run had just paid to bring back, and swarmsup's
 * run came after a payload generation and a check that let memory cool: at N = 16 that is
 * ~6 CPU-s of page faults on one side only (same code, both cold: libtorrent 13.2 s / 24.8
 * CPU-s, swarmsup 20.3-21.0 s / 40-41 CPU-s; in the old order 8.9 s for libtorrent).
 * Now every timed run starts SETTLE_MS after the previous one ended, so both clients fill
 * memory the host has taken back (the same state for both), and the client that goes first
 * alternates with N.
 */
import { setTimeout as sleep } from "node:timers/promises";

export const SETTLE_MS = 15_000;

/** bench:pair waits the same before each of its transfers (its `--settle-s`). */
export function settleMemory(ms = SETTLE_MS): Promise<void> {
  return sleep(ms);
}

/** Which client runs first in the i-th (client pair of) swarm runs of the bench: alternating, so neither always follows the other. */
export function clientOrder<T>(clients: readonly [T, T], i: number): readonly [T, T] {
  return i % 2 === 0 ? clients : [clients[1], clients[0]];
}
