import type { PeerLinkState } from "../../actors/peer/analyze.js";
import { INITIAL_FLAGS, type LinkFlags } from "../../actors/peer/machine.js";
import { RequestSet, UploadQueue } from "../../actors/peer/requests.js";
import type { BlockRequest } from "../../actors/pieceMgr/picker.js";
import { Bitfield, torrentGeometry, type TorrentContext, type WireFeatures } from "../../src/protocol/wire/index.js";

/** 10 pieces of 32 KiB, the last one 1000 bytes. */
export const TORRENT: TorrentContext = { pieceCount: 10, pieceLength: 32 * 1024, totalLength: 9 * 32 * 1024 + 1000 };
export const GEOMETRY = torrentGeometry(TORRENT);

export const FAST: WireFeatures = { fast: true, extended: true };
export const PLAIN: WireFeatures = { fast: false, extended: false };

export function bits(pieces: readonly number[], pieceCount = TORRENT.pieceCount): Bitfield {
  const b = new Bitfield(pieceCount);
  for (const p of pieces) b.set(p);
  return b;
}

export function requestSet(requests: readonly BlockRequest[] = []): RequestSet {
  const set = new RequestSet(TORRENT.pieceLength);
  for (const r of requests) set.add(r.piece, r.begin, r.length);
  return set;
}

export function uploadQueue(requests: readonly BlockRequest[] = [], bound?: number): UploadQueue {
  const q = new UploadQueue(TORRENT.pieceLength, bound);
  for (const r of requests) q.add(r.piece, r.begin, r.length);
  return q;
}

export interface StateOverrides extends Partial<Omit<PeerLinkState, "flags">> {
  readonly flags?: Partial<LinkFlags>;
}

/** An open link on TORRENT with the fast and extension protocols; override what a case needs. */
export function linkState(over: StateOverrides = {}): PeerLinkState {
  return {
    features: FAST,
    geometry: GEOMETRY,
    ours: bits([]),
    theirs: bits([]),
    opening: "open",
    allowedFastToThem: new Set<number>(),
    uploads: uploadQueue(),
    outstanding: requestSet(),
    extensionNames: new Map([[3, "ut_metadata"]]),
    ...over,
    flags: { ...INITIAL_FLAGS, ...over.flags },
  };
}
