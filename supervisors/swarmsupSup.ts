/**
 * swarmsup_sup: the top of a node.
 *
 * one_for_one: the hash pool, the listener and the torrents do not depend on one another's
 * state. A dead hash pool fails the calls in flight (a torrent check then crashes its
 * controller, which its own supervisor restarts and which borrows the new pool); a dead
 * listener loses only handshakes in progress; torrent_pool's death is the one that takes all
 * torrents, and only it. Intensity 3 in 60 s (etorrent's top figures): past that the node
 * itself is broken and exits, which the CLI reports as a failed job.
 * (etorrent uses one_for_all at the top; its children share ETS tables we do not have.)
 * The choker (after the listener) holds only soft state: restarted, it rebuilds its table from the peers' next reports.
 */
import { startSupervisor, supervisorSpec, type Runtime, type SupervisorSpec } from "../src/runtime/index.js";
import { listenerAddress } from "../actors/listener.js";
import { startChoker, type ChokerOptions } from "../actors/choker.js";
import { hashPoolChild } from "./hashPoolSpec.js";
import { listenerSup } from "./listenerSup.js";
import { TORRENT_POOL, torrentPool } from "./torrentPool.js";

export interface NodeSpec {
  readonly host: string;
  readonly port: number;
  readonly choker?: ChokerOptions;
}

export const LISTENER = "listener";

export function swarmsupSup(node: NodeSpec): SupervisorSpec {
  return supervisorSpec({
    name: "swarmsup_sup",
    strategy: "one_for_one",
    intensity: 3,
    period: 60_000,
    children: [
      hashPoolChild(),
      { id: "listener_sup", type: "supervisor", start: () => startSupervisor(listenerSup({ host: node.host, port: node.port, name: LISTENER }), { name: "listener_sup" }) },
      { id: "choker", start: () => startChoker(node.choker) },
      { id: "torrent_pool", type: "supervisor", start: () => startSupervisor(torrentPool(), { name: TORRENT_POOL }) },
    ],
  });
}

export async function listenerPort(runtime: Runtime): Promise<number> {
  return (await listenerAddress(runtime, LISTENER)).port;
}
