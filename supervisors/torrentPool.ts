/**
 * torrent_pool: one torrent_sup per torrent, started with startChild(pool, [TorrentArgs]).
 *
 * simple_one_for_one, children transient: a torrent_sup that crashed (killed, or a child
 * start failing) is restarted with the same args, and so checks its data again; one that
 * gave up (exited `shutdown` after its own intensity) is not, so a torrent that keeps
 * crashing is dropped alone. Intensity 10 in 60 s across all torrents: past that, something
 * node-wide is wrong and swarmsup_sup decides.
 */
import { startSupervisor, supervisorSpec, type SupervisorSpec } from "../src/runtime/index.js";
import { names } from "../actors/torrentState.js";
import { torrentSup, type TorrentArgs } from "./torrentSup.js";

export const TORRENT_POOL = "torrent_pool";

export function torrentPool(): SupervisorSpec {
  return supervisorSpec({
    name: "torrent_pool",
    strategy: "simple_one_for_one",
    intensity: 10,
    period: 60_000,
    children: [
      {
        id: "torrent_sup",
        type: "supervisor",
        restart: "transient",
        start: (args: TorrentArgs) => startSupervisor(torrentSup(args), { name: names.torrentSup(args.meta.infoHashHex) }),
      },
    ],
  });
}
