/**
 * torrent_sup: one torrent's subtree.
 *
 * rest_for_one, in this order (each child depends on the ones before it):
 * - resume_writer: first, so it stops last and its final save sees every write returned.
 * - io_sup: every read and write goes through its workers. If io_sup itself gives up (its
 *   workers crashed past their intensity: a dead disk), everything after it restarts.
 * - piece_mgr: holds the block reservations of every connected peer. A new piece manager
 *   knows none of them, so the controller and the peers after it restart with it; what is
 *   verified and written survives in TorrentState.
 * - torrent_ctl: dials and monitors the outgoing peers; a new controller redials, so the
 *   peers it knew are restarted with it.
 * - announcer (permanent): restarted with a new torrent_ctl, which knows no peers until it re-announces.
 * - peer_pool: the connections. Their crashes are handled inside the pool (temporary
 *   children, never restarted); if the pool itself dies only the connections go.
 * etorrent uses one_for_all here; rest_for_one keeps the disk side (io_sup) alive when only
 * a bookkeeper crashes, and restarts exactly what depended on the dead child.
 *
 * Intensity 5 in 60 s: chaos kills of single actors are survived; a torrent crashing in a
 * loop exits `shutdown` and torrent_pool (transient children) drops that torrent only.
 */
import { startSupervisor, supervisorSpec, type SupervisorSpec } from "../src/runtime/index.js";
import { TorrentIo } from "../actors/io/torrentIo.js";
import { startPieceMgr, type PieceAudit } from "../actors/pieceMgr.js";
import { startAnnouncer, type AnnouncerOptions } from "../actors/announcer.js";
import { startResumeWriter } from "../actors/resumeWriter.js";
import { startTorrentCtl, type PeerAddress } from "../actors/torrentCtl.js";
import { TorrentState, names } from "../actors/torrentState.js";
import type { OutgoingConnection, PeerOptions } from "../actors/peer.js";
import { corruptingReader, type CorruptSpec } from "../actors/chaos/corruptReader.js";
import { ReadAhead } from "../actors/io/readAhead.js";
import { ioSup } from "./ioSup.js";
import { startPeerPool } from "./peerPool.js";
import type { Metainfo } from "../src/protocol/types.js";
import { resolveDataFiles, type DataLocation } from "../src/storage/dataPath.js";

export interface TorrentArgs {
  readonly meta: Metainfo;
  /** A download directory (`get -o DIR`) or the payload itself (`seed <path>`). */
  readonly location: DataLocation;
  readonly peerId: Buffer;
  /** Address outgoing connections bind to (a node's own 127.x.y.z in swarm mode). */
  readonly localAddress?: string;
  readonly peers?: readonly PeerAddress[];
  readonly peerOptions?: PeerOptions;
  /** Chaos: serve uploads with flipped bytes (tests, `swarm --chaos corrupt:...`). */
  readonly corruptUploads?: CorruptSpec;
  /** Checks each piece as it is marked have (swarm runs; off by default). */
  readonly pieceAudit?: PieceAudit;
  /** The node profile's announcer knobs (datacenter: a 3 s re-announce). */
  readonly announcer?: AnnouncerOptions;
  /** Files missing when the torrent was started (torrent_pool stats them first). */
  readonly absentAtStart?: ReadonlySet<number>;
  /** The node's listening port: announced to trackers, told to peers. */
  readonly listenPort: number;
  readonly now: number;
}

export function torrentSup(args: TorrentArgs): SupervisorSpec {
  const ih = args.meta.infoHashHex;
  const state = new TorrentState(args.meta, resolveDataFiles(args.meta, args.location), args.now, args.absentAtStart);
  const io = new TorrentIo(args.meta, ih);
  const reader = new ReadAhead(args.meta, io);
  const uploads = args.corruptUploads === undefined ? reader : corruptingReader(reader, args.corruptUploads);
  const outgoing = (addr: PeerAddress): OutgoingConnection => ({
    direction: "outgoing",
    host: addr.host,
    port: addr.port,
    ...(args.localAddress === undefined ? {} : { localAddress: args.localAddress }),
  });
  return supervisorSpec({
    name: "torrent_sup",
    strategy: "rest_for_one",
    intensity: 5,
    period: 60_000,
    children: [
      { id: "resume_writer", shutdown: 30_000, start: () => startResumeWriter({ state }) },
      { id: "io_sup", type: "supervisor", start: () => startSupervisor(ioSup(args.meta, args.location, ih), { name: names.ioSup(ih) }) },
      { id: "piece_mgr", start: () => startPieceMgr({ state, writer: io, ...(args.pieceAudit === undefined ? {} : { audit: args.pieceAudit }) }) },
      { id: "torrent_ctl", start: () => startTorrentCtl({ state, outgoing, ...(args.peers === undefined ? {} : { peers: args.peers }) }) },
      {
        id: "announcer",
        restart: "permanent",
        start: () => startAnnouncer({ state, peerId: args.peerId, listenPort: args.listenPort, ...(args.localAddress === undefined ? {} : { localAddress: args.localAddress }), ...(args.announcer === undefined ? {} : { options: args.announcer }) }),
      },
      { id: "peer_pool", type: "supervisor", start: () => startPeerPool(ih, { state, io: uploads, peerId: args.peerId, ...(args.peerOptions === undefined ? {} : { options: args.peerOptions }) }) },
    ],
  });
}
