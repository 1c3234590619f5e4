/**
 * listener_sup: the acceptor under its own supervisor.
 *
 * one_for_one with the listener alone: if it crashes (a server error), it is started again
 * and binds the same host:port; the connections it had already handed over live under their
 * torrents' peer pools and are not touched, only handshakes still pending are lost.
 * Intensity 5 in 60 s: a listener that cannot stay up (the port taken by someone else)
 * gives up and swarmsup_sup decides; the node can still dial out meanwhile.
 *
 * A listener started on port 0 binds a fresh port when restarted: give a fixed port when
 * peers (or a tracker) must find the node again.
 */
import { supervisorSpec, type SupervisorSpec } from "../src/runtime/index.js";
import { startListener, type ListenerOptions } from "../actors/listener.js";

export function listenerSup(options: ListenerOptions): SupervisorSpec {
  return supervisorSpec({
    name: "listener_sup",
    strategy: "one_for_one",
    intensity: 5,
    period: 60_000,
    children: [{ id: "listener", start: () => startListener(options), shutdown: 2000 }],
  });
}
