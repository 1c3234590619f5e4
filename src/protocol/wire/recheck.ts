/**
 * Re-checking a message decoded before the torrent was known (a magnet link's peers send
 * their bitfield and haves before the metadata arrives): the same rules the decoder
 * applies once it has a context, so a peer actor that kept such messages can hold them
 * to the torrent when `setTorrentContext` is called.
 */

import { bitfieldViolation } from "./bitfield.js";
import { indexViolation, requestViolation, spanViolation, type TorrentGeometry } from "./geometry.js";
import type { WireMessage, WireViolation } from "./types.js";

export function contextViolation(msg: WireMessage, g: TorrentGeometry): WireViolation | undefined {
  switch (msg.type) {
    case "have":
    case "suggest":
    case "allowedFast":
      return indexViolation(msg.type, msg.index, g);
    case "request":
    case "cancel":
    case "reject":
      return requestViolation(msg.type, msg.index, msg.begin, msg.length, g);
    case "piece":
      return spanViolation("piece", msg.index, msg.begin, msg.block.length, g);
    case "bitfield":
      return bitfieldViolation(g.pieceCount, msg.bits);
    default:
      return undefined;
  }
}
