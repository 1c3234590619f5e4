/**
 * A torrent's supervision tree made of probes: the real shape and registry names
 * (torrent_pool -> torrent_sup rest_for_one -> io_sup with file_io/N, piece_mgr, torrent_ctl,
 * announcer, peer_pool with temporary peers) with idle servers in place of the actors, so
 * the chaos monkey can be driven on a ManualClock with no sockets or files. Intensities are
 * high: the tests count kills, not escalations.
 */
import {
  defineServer,
  ok,
  startChild,
  startServer,
  startSupervisor,
  supervisorSpec,
  type Name,
  type Pid,
  type Runtime,
  type SupervisorSpec,
} from "../../src/runtime/index.js";
import { names } from "../../actors/torrentState.js";
import { fileIoName } from "../../actors/fileIo.js";
import { peerName } from "../../actors/peer.js";

const probe = defineServer<null, void>({ name: "probe", init: () => ok(null) });

const startProbe = (name: Name): Promise<Pid | "ignore"> => startServer(probe, undefined, { name });

const LOOSE = { intensity: 100_000, period: 1000 } as const;

function torrentSupSpec(ih: string, files: number): SupervisorSpec {
  const ioSup = supervisorSpec({
    name: "io_sup",
    strategy: "one_for_one",
    ...LOOSE,
    children: Array.from({ length: files }, (_, i) => ({ id: `file_io/${i}`, start: () => startProbe(fileIoName(ih, i)) })),
  });
  const peerPool = supervisorSpec({
    name: "peer_pool",
    strategy: "simple_one_for_one",
    children: [{ id: "peer", restart: "temporary", start: (addr: string) => startProbe(peerName(ih, addr)) }],
  });
  return supervisorSpec({
    name: "torrent_sup",
    strategy: "rest_for_one",
    ...LOOSE,
    children: [
      { id: "io_sup", type: "supervisor", start: () => startSupervisor(ioSup, { name: names.ioSup(ih) }) },
      { id: "piece_mgr", start: () => startProbe(names.pieceMgr(ih)) },
      { id: "torrent_ctl", start: () => startProbe(names.torrentCtl(ih)) },
      { id: "announcer", start: () => startProbe(names.announcer(ih)) },
      { id: "peer_pool", type: "supervisor", start: () => startSupervisor(peerPool, { name: names.peerPool(ih) }) },
    ],
  });
}

export interface ProbeTree {
  readonly pool: Pid;
  /** Starts a peer probe registered ["peer", ih, addr] under the torrent's peer_pool. */
  addPeer(addr: string): Promise<void>;
}

export async function startProbeTree(runtime: Runtime, ih: string, files: number): Promise<ProbeTree> {
  const pool = await startSupervisor(
    supervisorSpec({
      name: "torrent_pool",
      strategy: "simple_one_for_one",
      ...LOOSE,
      children: [
        {
          id: "torrent_sup",
          type: "supervisor",
          restart: "transient",
          start: () => startSupervisor(torrentSupSpec(ih, files), { name: names.torrentSup(ih) }),
        },
      ],
    }),
    { runtime, name: "torrent_pool", link: false },
  );
  await startChild(pool, []);
  return {
    pool,
    addPeer: async (addr) => {
      const peerPool = runtime.whereis(names.peerPool(ih));
      if (peerPool === undefined) throw new Error("peer_pool is not running");
      await startChild(peerPool, [addr]);
    },
  };
}
