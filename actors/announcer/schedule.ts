/**
 * The announcer's other pure decisions: when to announce again, what `left` is, the `key`,
 * and which peers from a reply are worth handing to the controller.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { AnnounceReply, TrackerPeer } from "../../src/protocol/tracker/index.js";
import type { Metainfo } from "../../src/protocol/types.js";
import type { Bitfield } from "../../src/protocol/wire/bitfield.js";

export interface IntervalPolicy {
  /** Set by the node (e.g. a datacenter profile): replaces the tracker's `interval`. */
  readonly overrideMs: number | undefined;
  /** A tracker's `interval` below this is raised to it: a buggy tracker must not make us spin. */
  readonly floorMs: number;
}

export type Reannounce = {
  readonly delayMs: number;
  /** What set the delay, for the log and the tests. */
  readonly by: "interval" | "override" | "floor" | "min interval";
};

/**
 * Next regular announce after an answer. `min interval` is a floor nobody overrides
 * (trackers may refuse earlier announces); our override replaces `interval` only.
 */
export function reannounceDelay(reply: Pick<AnnounceReply, "intervalSec" | "minIntervalSec">, policy: IntervalPolicy): Reannounce {
  const minMs = (reply.minIntervalSec ?? 0) * 1000;
  let base: Reannounce;
  if (policy.overrideMs !== undefined) base = { delayMs: policy.overrideMs, by: "override" };
  else if (reply.intervalSec * 1000 < policy.floorMs) base = { delayMs: policy.floorMs, by: "floor" };
  else base = { delayMs: reply.intervalSec * 1000, by: "interval" };
  return minMs > base.delayMs ? { delayMs: minMs, by: "min interval" } : base;
}

/** Payload bytes we still lack: the pieces not in `have`, the last one at its real size. */
export function bytesLeft(meta: Pick<Metainfo, "length" | "pieceLength" | "pieceCount">, have: Pick<Bitfield, "count" | "has">): number {
  if (meta.pieceCount === 0) return meta.length;
  const last = meta.pieceCount - 1;
  const lastLength = meta.length - last * meta.pieceLength;
  const haveBytes = have.count * meta.pieceLength - (have.has(last) ? meta.pieceLength - lastLength : 0);
  return meta.length - haveBytes;
}

/**
 * BEP 3's `key`: the same for every announce of this torrent by this node, even across an
 * announcer restart (so a tracker can tell it is still us), and different per torrent.
 */
export function announceKey(peerId: Buffer, infoHash: Buffer): number {
  return createHash("sha1").update(peerId).update(infoHash).digest().readUInt32BE(0);
}

export interface Self {
  /** The address our sockets bind; undefined = any. */
  readonly host: string | undefined;
  readonly port: number;
}

export interface SelectedPeers {
  readonly peers: TrackerPeer[];
  /** Ourselves (trackers list the asker too) and addresses our bound family cannot reach. */
  readonly skipped: number;
}

/** Drops ourselves and, when we are bound to an IPv4 address, IPv6 peers (and the reverse). */
export function selectPeers(peers: readonly TrackerPeer[], self: Self): SelectedPeers {
  const family = self.host === undefined ? 0 : isIP(self.host);
  const kept = peers.filter((p) => {
    if (p.port === self.port && p.host === self.host) return false;
    const peerFamily = isIP(p.host);
    return family === 0 || peerFamily === 0 || peerFamily === family;
  });
  return { peers: kept, skipped: peers.length - kept.length };
}
