/**
 * A Metainfo for a magnet link once its info dictionary has arrived (BEP 9): the dictionary's
 * own bytes, wrapped as a .torrent with the magnet's trackers (each its own tier, as
 * libtorrent reads `tr`) and web seeds, and parsed by the one metainfo parser, so a magnet
 * download is held to every rule a .torrent is. The info bytes are embedded as they came,
 * never re-encoded, so the info-hash is theirs.
 */
import { encode } from "./bencode.js";
import { parseMetainfo } from "./metainfoParse.js";
import type { Metainfo } from "./types.js";

export function metainfoFromInfo(infoBytes: Buffer, trackers: readonly string[], webSeeds: readonly string[]): Metainfo {
  // Keys in bencode's sorted order: announce < announce-list < info < url-list.
  const parts: Buffer[] = [Buffer.from("d")];
  const first = trackers[0];
  if (first !== undefined) {
    parts.push(encode("announce"), encode(first));
    parts.push(encode("announce-list"), encode(trackers.map((t) => [t])));
  }
  parts.push(encode("info"), infoBytes);
  if (webSeeds.length > 0) parts.push(encode("url-list"), encode([...webSeeds]));
  parts.push(Buffer.from("e"));
  return parseMetainfo(Buffer.concat(parts));
}
