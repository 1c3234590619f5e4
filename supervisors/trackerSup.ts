/**
 * tracker_sup: the embedded tracker under its own supervisor.
 *
 * one_for_one with tracker_server alone: a crash (a socket error, a bug) restarts it on the
 * same host:port with an empty swarm table; clients notice nothing worse than a missed
 * announce, since every peer re-announces within one interval and UDP clients connect again
 * when their connection id is refused. Intensity 5 in 60 s: a tracker that cannot stay up
 * (its port taken by someone else) gives up and the parent decides.
 *
 * A tracker started on port 0 binds a fresh port when restarted: give a fixed port when
 * .torrent files name it.
 */
import { supervisorSpec, type SupervisorSpec } from "../src/runtime/index.js";
import { startTrackerServer, type TrackerServerOptions } from "../actors/trackerServer.js";

export const TRACKER_SUP = "tracker_sup";

export function trackerSup(options: TrackerServerOptions): SupervisorSpec {
  return supervisorSpec({
    name: TRACKER_SUP,
    strategy: "one_for_one",
    intensity: 5,
    period: 60_000,
    children: [{ id: "tracker_server", start: () => startTrackerServer(options), shutdown: 2000 }],
  });
}
