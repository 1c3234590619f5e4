/**
 * The swarm's own tracker: tracker_sup with tracker_server on its own Runtime in the
 * parent process, on 127.0.0.1 and a free port. Members find each other only through it
 * (the .torrent announces it). The interval is the announcer's floor (it never re-announces
 * sooner than 30 s, whatever a tracker says): a shorter one would only expire every member
 * (1.5 intervals) long before it announces again, and a member restarted after a crash would
 * be told of nobody.
 */
import { Reason, Runtime, startSupervisor } from "../runtime/index.js";
import { trackerAddress, TRACKER_SERVER } from "../../actors/trackerServer.js";
import { TRACKER_SUP, trackerSup } from "../../supervisors/trackerSup.js";
import { TRACKER_HOST } from "./topology.js";

export const TRACKER_INTERVAL_SECONDS = 30;

export interface EmbeddedTracker {
  readonly announce: string;
  stop(): Promise<void>;
}

export async function startEmbeddedTracker(): Promise<EmbeddedTracker> {
  const runtime = new Runtime({ label: "tracker" });
  const sup = await startSupervisor(trackerSup({ host: TRACKER_HOST, port: 0, limits: { intervalSeconds: TRACKER_INTERVAL_SECONDS } }), {
    runtime,
    name: TRACKER_SUP,
    link: false,
  });
  const { port } = await trackerAddress(runtime, TRACKER_SERVER);
  return {
    announce: `http://${TRACKER_HOST}:${port}/announce`,
    async stop() {
      if (runtime.isAlive(sup)) await runtime.stop(sup, Reason.shutdown());
    },
  };
}
