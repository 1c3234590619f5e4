/**
 * peer_pool: the connections of one torrent, one peer actor each, registered as
 * names.peerPool(ih). Children come from two places: torrent_ctl dials (outgoing) and the
 * listener hands over accepted sockets (incoming), both with startChild(pool, [connection]).
 *
 * - simple_one_for_one: peers are all alike and come and go by the hundred.
 * - restart temporary: a peer is never restarted (etorrent's choice): the address may be
 *   gone, and there are other peers; the piece manager monitors each peer and takes its
 *   blocks back when it dies, whatever the reason.
 * - shutdown 2000: a peer does not trap exits, so the shutdown signal ends it at once and
 *   its socket closes with it; the 2 s are only a ceiling before the kill, never a wait for
 *   I/O. brutal_kill would do as well today; the timeout leaves room for a peer that will
 *   trap exits to send a last message.
 * - intensity: temporary children are never restarted, so no restart is ever counted
 *   against it; the OTP defaults (1 in 5 s) stand and mean nothing here.
 */
import { startSupervisor, supervisorSpec, type Pid, type StartOptions, type SupervisorSpec } from "../src/runtime/index.js";
import { startPeer, type PeerBase, type PeerConnection } from "../actors/peer.js";
import { names } from "../actors/torrentState.js";

/** What startChild(pool, [args]) takes: a connection; torrent fields, when given, override the pool's. */
export type PeerChildArgs = PeerConnection & Partial<PeerBase>;

export function peerPool(ih: string, base: PeerBase): SupervisorSpec {
  if (base.state.infoHashHex !== ih) throw new RangeError(`peerPool(${ih}): the torrent state is for ${base.state.infoHashHex}`);
  return supervisorSpec({
    name: "peer_pool",
    strategy: "simple_one_for_one",
    children: [
      {
        id: "peer",
        restart: "temporary",
        shutdown: 2000,
        start: (conn: PeerChildArgs) => startPeer({ ...base, ...conn }),
      },
    ],
  });
}

/** Start the pool registered as names.peerPool(ih) (linked to the caller: torrent_sup). */
export function startPeerPool(ih: string, base: PeerBase, options: StartOptions = {}): Promise<Pid> {
  return startSupervisor(peerPool(ih, base), { name: names.peerPool(ih), ...options });
}
