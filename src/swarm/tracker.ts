/**
 * The swarm's own tracker: tracker_sup with tracker_server on its own Runtime in the
 * parent process, on 127.0.0.1 and a free port. Members find each other only through it
 * (the .torrent announces it). A short interval, so members that join or come back after a
 * crash are heard of within seconds.
 */
import { Reason, Runtime, startSupervisor } from "../runtime/index.js";
import { trackerAddress, TRACKER_SERVER } from "../../actors/trackerServer.js";
import { TRACKER_SUP, trackerSup } from "../../supervisors/trackerSup.js";
import { TRACKER_HOST } from "./topology.js";

export const TRACKER_INTERVAL_SECONDS = 3;

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
