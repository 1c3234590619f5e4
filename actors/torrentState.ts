/**
 * The state of one torrent that must outlive any one of its actors: what we have, the
 * byte counters, the peers we banned. etorrent keeps this in ETS tables owned by a
 * long-lived process so a crashed piece manager or controller restarts without a recheck;
 * here it is one object created when the torrent's supervisor is started and handed to its
 * children (torrent_sup's start function owns it, so it lives exactly as long as the
 * torrent does).
 *
 * Invariant 1 lives here: `have` is set only by the piece manager, after the piece's SHA-1
 * matched and every write of it returned (see pieceMgr.ts). Everything else reads it.
 */
import { Bitfield } from "../src/protocol/wire/bitfield.js";
import type { Metainfo } from "../src/protocol/types.js";

export interface TorrentCounters {
  /** Payload bytes of verified pieces fetched by this run (a resumed run fetches less). */
  downloaded: number;
  /** Payload bytes served to peers. */
  uploaded: number;
  hashFails: number;
  /** Blocks that arrived without being asked for, or twice. */
  wastedBlocks: number;
  /** Distinct peers we exchanged a handshake with. */
  peersSeen: number;
}

export class TorrentState {
  readonly infoHashHex: string;
  readonly have: Bitfield;
  readonly counters: TorrentCounters = { downloaded: 0, uploaded: 0, hashFails: 0, wastedBlocks: 0, peersSeen: 0 };
  /** Host addresses banned for sending bad data (libtorrent bans by IP as well). */
  readonly banned = new Set<string>();
  /** Smart-ban strikes per host (blocks it was caught lying about); kept here so a restarted piece manager remembers them. */
  readonly strikes = new Map<string, number>();
  /** The have-set was established (check or resume) and may be trusted by a restarted actor. */
  checked = false;
  readonly startedAt: number;
  completedAt: number | undefined = undefined;

  constructor(
    readonly meta: Metainfo,
    /** Absolute path of each of meta.files, same indices (storage/dataPath.ts resolves them). */
    readonly paths: readonly string[],
    now: number,
    /** Indices of files that did not exist when the torrent started (see startupCheck). */
    readonly absentAtStart: ReadonlySet<number> = new Set(),
  ) {
    this.infoHashHex = meta.infoHashHex;
    this.have = new Bitfield(meta.pieceCount);
    this.startedAt = now;
  }
}

/** Registry names of a torrent's actors: one place, so the tree and the callers agree. */
export const names = {
  torrentSup: (ih: string) => ["torrent_sup", ih] as const,
  pieceMgr: (ih: string) => ["piece_mgr", ih] as const,
  torrentCtl: (ih: string) => ["torrent_ctl", ih] as const,
  peerPool: (ih: string) => ["peer_pool", ih] as const,
  ioSup: (ih: string) => ["io_sup", ih] as const,
  announcer: (ih: string) => ["announcer", ih] as const,
  /** Group every peer actor of a torrent joins: HAVE broadcasts go to its members. */
  peers: (ih: string) => ["peers", ih] as const,
};
