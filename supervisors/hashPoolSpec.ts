/**
 * The hash_pool child of swarmsup_sup. Permanent: every torrent's piece checks and every
 * bulk verify use it. Five seconds of shutdown let piscina end its threads cleanly.
 */
import type { ChildSpec } from "../src/runtime/index.js";
import { startHashPool, type HashPoolArgs } from "../actors/hashPool.js";

export function hashPoolChild(args: HashPoolArgs = {}): ChildSpec {
  return { id: "hash_pool", restart: "permanent", shutdown: 5000, start: () => startHashPool(args) };
}
