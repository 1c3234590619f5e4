/**
 * A swarmsup node: one runtime holding swarmsup_sup (hash pool, listener, torrent pool) and
 * the API the CLI and the swarm use to add torrents and watch them. Several nodes can live
 * in one process (in-process swarm mode), each on its own Runtime.
 */
import { randomBytes } from "node:crypto";
import { CallError, Reason, Runtime, startChild, startSupervisor, terminateChild, type Pid } from "./runtime/index.js";
import { startMetadataFetch, type AttemptProgress, type MetadataFetched, type MetadataFetchStatus, type PeerFailure } from "../actors/metadataFetch.js";
import type { Metainfo } from "./protocol/types.js";
import type { DataLocation } from "./storage/dataPath.js";
import { makePeerId } from "./peerId.js";
import { swarmsupSup, listenerPort } from "../supervisors/swarmsupSup.js";
import { TORRENT_POOL } from "../supervisors/torrentPool.js";
import type { TorrentArgs } from "../supervisors/torrentSup.js";
import type { PeerOptions } from "../actors/peer.js";
import type { CorruptSpec } from "../actors/chaos/corruptReader.js";
import type { PieceAudit } from "../actors/pieceMgr.js";
import type { ChokerOptions, Profile } from "../actors/choker.js";
import { profileSettings, type ProfileSettings } from "../actors/choker/profile.js";
import { torrentCtl, type Milestone, type PeerAddress, type TorrentStats } from "../actors/torrentCtl.js";

export interface SwarmNodeOptions {
  /** Address to bind (listening and outgoing connections). Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** A runtime of its own by default, so nodes in one process never share names. */
  readonly runtime?: Runtime;
  readonly label?: string;
  /** Options for every peer of every torrent on this node, plus chaos. */
  readonly peerOptions?: NodePeerOptions;
  /** Called as each piece is marked have (swarm runs read it back: src/swarm/audit.ts). */
  readonly pieceAudit?: PieceAudit;
  /** "datacenter": no tit-for-tat, 64 upload slots, 5 s snub, 3 s re-announce (actors/choker/profile.ts). */
  readonly profile?: Profile;
  /** The choker's knobs over the profile's (slots, intervals). */
  readonly choker?: ChokerOptions;
}

export interface NodePeerOptions extends PeerOptions {
  /** Chaos: this node serves a share of its blocks with a flipped byte (seeded). */
  readonly corruptUploads?: CorruptSpec;
}

export interface AddTorrent {
  readonly meta: Metainfo;
  readonly location: DataLocation;
  readonly peers?: readonly PeerAddress[];
  /** The port peers are told to dial (a proxy in front of the listener); default the listener's. */
  readonly announcePort?: number;
}

export type MetadataOutcome =
  | { readonly kind: "fetched"; readonly infoBytes: Buffer; readonly failures: readonly PeerFailure[] }
  /** `asking`: the peer the fetch was waiting on at the deadline. */
  | { readonly kind: "timedOut"; readonly failures: readonly PeerFailure[]; readonly asking: AttemptProgress | undefined };

export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

/** How long a timed-out metadata fetch is given to say why, before it is stopped. */
const STATUS_AFTER_DEADLINE_MS = 500;

/** While a torrent's supervisor restarts its controller, a call to it fails; ask again this often. */
const RETRY_MS = 100;

export class SwarmNode {
  private constructor(
    readonly runtime: Runtime,
    readonly sup: Pid,
    readonly host: string,
    readonly port: number,
    readonly peerId: Buffer,
    private readonly options: SwarmNodeOptions,
  ) {}

  static async start(options: SwarmNodeOptions = {}): Promise<SwarmNode> {
    const host = options.host ?? "127.0.0.1";
    const runtime = options.runtime ?? new Runtime(options.label === undefined ? {} : { label: options.label });
    const choker = { ...profileSettings(options.profile ?? "default").choker, ...options.choker };
    const sup = await startSupervisor(swarmsupSup({ host, port: options.port ?? 0, choker }), { runtime, name: "swarmsup_sup", link: false });
    const port = await listenerPort(runtime);
    return new SwarmNode(runtime, sup, host, port, makePeerId(randomBytes), options);
  }

  /** Starts the torrent's subtree under torrent_pool; resolves once it is running (its check goes on). */
  async addTorrent(t: AddTorrent): Promise<string> {
    const listenPort = t.announcePort ?? this.port;
    const profile = profileSettings(this.options.profile ?? "default");
    const args: TorrentArgs = {
      meta: t.meta,
      location: t.location,
      peerId: this.peerId,
      localAddress: this.host,
      listenPort,
      peerOptions: { ...peerOptionsOf(this.options.peerOptions, profile), listenPort },
      ...(profile.announceIntervalOverrideMs === undefined ? {} : { announcer: { announceIntervalOverrideMs: profile.announceIntervalOverrideMs } }),
      ...(this.options.peerOptions?.corruptUploads === undefined ? {} : { corruptUploads: this.options.peerOptions.corruptUploads }),
      ...(this.options.pieceAudit === undefined ? {} : { pieceAudit: this.options.pieceAudit }),
      now: this.runtime.clock.now(),
      ...(t.peers === undefined ? {} : { peers: t.peers }),
    };
    // By pid, not name: supervisor admin resolves names in the current runtime, and the
    // caller here is outside any actor (pids route to their own node).
    const pool = this.runtime.whereis(TORRENT_POOL);
    if (pool === undefined) throw new Error("torrent_pool is not running");
    await startChild(pool, [args]);
    return t.meta.infoHashHex;
  }

  stats(infoHashHex: string): Promise<TorrentStats> {
    return torrentCtl.stats(this.runtime, infoHashHex);
  }

  /**
   * Resolves when the torrent reaches the milestone. Survives the controller being restarted
   * under its supervisor (the call fails; it is asked again) until `timeoutMs` passes.
   */
  async await(infoHashHex: string, until: Milestone, timeoutMs: number): Promise<TorrentStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`${until} not reached within ${timeoutMs} ms`);
      try {
        return await torrentCtl.await(this.runtime, infoHashHex, until, left === Infinity ? Infinity : left);
      } catch (err) {
        if (!(err instanceof CallError)) throw err;
        if (err.reason.kind === "timeout") throw new TimeoutError(`${until} not reached within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
      }
    }
  }

  /**
   * A magnet link's metadata (BEP 9): a temporary metadata_fetch child of swarmsup_sup asks
   * `peers` for the info dictionary until one gives it (it hashes to `infoHash`) or
   * `timeoutMs` passes; then the child is stopped and its last failure per peer returned.
   */
  async fetchMetadata(infoHash: Buffer, peers: readonly PeerAddress[], timeoutMs: number): Promise<MetadataOutcome> {
    const hex = infoHash.toString("hex");
    const id = `metadata_fetch:${hex}`;
    const args = { infoHash, peerId: this.peerId, peers, localAddress: this.host };
    const pid = await startChild(this.sup, { id, restart: "temporary", start: () => startMetadataFetch(args, ["metadata_fetch", hex]) });
    if (pid === "ignore") throw new Error("metadata_fetch ignored its start");
    try {
      const fetched = await this.runtime.call<MetadataFetched>(pid, { t: "await" }, timeoutMs);
      return { kind: "fetched", infoBytes: fetched.infoBytes, failures: fetched.failures };
    } catch (err) {
      if (!(err instanceof CallError) || err.reason.kind !== "timeout") throw err;
      // Briefly: the caller's deadline has passed already.
      const status = await this.runtime.call<MetadataFetchStatus>(pid, { t: "status" }, STATUS_AFTER_DEADLINE_MS).catch(() => undefined);
      await terminateChild(this.sup, id).catch(() => undefined); // it may have finished meanwhile
      return { kind: "timedOut", failures: status?.failures ?? [], asking: status?.asking };
    }
  }

  /** Stops the whole tree in order (peers told, files closed), then the listener. */
  async stop(): Promise<void> {
    if (!this.runtime.isAlive(this.sup)) return;
    await this.runtime.stop(this.sup, Reason.shutdown());
  }
}

function peerOptionsOf(options: NodePeerOptions | undefined, profile: ProfileSettings): PeerOptions {
  const { corruptUploads: _chaos, ...peer } = options ?? {};
  return { ...peer, liveness: { ...profile.liveness, ...peer.liveness } };
}
