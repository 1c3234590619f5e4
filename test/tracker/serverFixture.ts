/**
 * tracker_server instances for the server tests: each on 127.0.0.1 (an OS-chosen port unless
 * given) in its own runtime, with the UDP clients that talk to it; `closeTrackers` (an
 * afterEach of each test file) closes the clients and stops every tracker still alive.
 */
import { ManualClock, Reason, Runtime, type Pid } from "../../src/runtime/index.js";
import { startTrackerServer, trackerAddress, type TrackerServerOptions } from "../../actors/trackerServer.js";
import { UdpClient } from "./serverClient.js";

export interface Tracker {
  readonly rt: Runtime;
  readonly pid: Pid;
  readonly port: number;
}

const running: Tracker[] = [];
const clients: UdpClient[] = [];

export async function tracker(options: Partial<TrackerServerOptions> & { clock?: ManualClock } = {}): Promise<Tracker> {
  const rt = new Runtime(options.clock === undefined ? {} : { clock: options.clock });
  const pid = await startTrackerServer({ host: "127.0.0.1", port: 0, runtime: rt, ...options });
  return keepTracker({ rt, pid, port: (await trackerAddress(rt, pid)).port });
}

/** A tracker the test started itself, stopped with the others. */
export function keepTracker(t: Tracker): Tracker {
  running.push(t);
  return t;
}

export async function udpClient(port: number): Promise<UdpClient> {
  const c = await UdpClient.open(port);
  clients.push(c);
  return c;
}

export async function closeTrackers(): Promise<void> {
  for (const c of clients.splice(0)) c.close();
  for (const t of running.splice(0)) if (t.rt.isAlive(t.pid)) await t.rt.stop(t.pid, Reason.shutdown());
}
