/**
 * torrent_pool: one torrent_sup per torrent, started with startChild(pool, [TorrentArgs]).
 *
 * simple_one_for_one, children transient: a torrent_sup that crashed (killed, or a child
 * start failing) is restarted with the same args, and so checks its data again; one that
 * gave up (exited `shutdown` past its own intensity) is not, so a torrent that keeps
 * crashing is dropped alone. Intensity 10 in 60 s across all torrents: past that, something
 * node-wide is wrong and swarmsup_sup decides.
 *
 * A restart waits (at most 10 s) for the previous incarnation's named actors to be gone: a
 * killed torrent_sup's io_sup still runs while its file workers finish the writes already
 * handed to the OS, and a new io_sup under the same name would fail `already_started`,
 * burning restarts of this pool's intensity (enough of them would drop every torrent).
 */
import { currentRuntime, self, startSupervisor, supervisorSpec, type Pid, type Runtime, type SupervisorSpec } from "../src/runtime/index.js";
import { stat } from "node:fs/promises";
import { names } from "../actors/torrentState.js";
import { resolveDataFiles } from "../src/storage/dataPath.js";
import { torrentSup, type TorrentArgs } from "./torrentSup.js";

export const TORRENT_POOL = "torrent_pool";

const PREVIOUS_RUN_GRACE_MS = 10_000;

export function torrentPool(): SupervisorSpec {
  return supervisorSpec({
    name: "torrent_pool",
    strategy: "simple_one_for_one",
    intensity: 10,
    period: 60_000,
    children: [{ id: "torrent_sup", type: "supervisor", restart: "transient", start: startTorrent }],
  });
}

async function startTorrent(args: TorrentArgs): Promise<Pid> {
  // Read before any await: after it, there is no current actor to link to.
  const runtime = currentRuntime();
  const pool = self();
  await previousRunGone(runtime, args.meta.infoHashHex);
  const absentAtStart = await absentFiles(args);
  return startSupervisor(torrentSup({ ...args, absentAtStart }), { name: names.torrentSup(args.meta.infoHashHex), runtime, link: pool ?? true });
}

/** Files not on disk before io_sup creates them: the start-up check need not read their pieces. */
async function absentFiles(args: TorrentArgs): Promise<Set<number>> {
  const paths = resolveDataFiles(args.meta, args.location);
  const absent = await Promise.all(
    args.meta.files.map((f, i) => (f.pad || f.length === 0 ? Promise.resolve(false) : stat(paths[i]!).then(() => false, () => true))),
  );
  return new Set(absent.flatMap((gone, i) => (gone ? [i] : [])));
}

/** Resolves when no actor of an earlier run of this torrent holds a name, or after the grace period. */
function previousRunGone(runtime: Runtime, ih: string): Promise<void> {
  const holders = [
    ...[names.torrentSup(ih), names.ioSup(ih), names.pieceMgr(ih), names.torrentCtl(ih), names.announcer(ih), names.peerPool(ih)]
      .map((name) => runtime.whereis(name))
      .filter((pid): pid is Pid => pid !== undefined),
    ...runtime.match(["file_io", ih, "*"]),
  ];
  if (holders.length === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = runtime.clock.setTimer(PREVIOUS_RUN_GRACE_MS, resolve);
    void Promise.all(holders.map((pid) => runtime.awaitExit(pid))).then(() => {
      runtime.clock.clearTimer(timer);
      resolve();
    });
  });
}
