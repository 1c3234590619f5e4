/**
 * Bencoded bodies of HTTP tracker replies: announce (BEP 23 compact `peers` and BEP 7
 * `peers6`, or BEP 3's list of dicts), scrape (BEP 48) and `failure reason`.
 * The announce body is written here rather than with the client codec's encodeHttpAnnounce:
 * the tracker's dictionary model carries `peer id` (BEP 3), the reply a `downloaded` count,
 * and compact entries are the table's keys already (no decode and re-encode per peer).
 */
import { encode, type BencodeEncodable } from "../../src/protocol/bencode.js";
import { endpointFromCompact } from "./endpoint.js";
import type { PeerListFormat } from "./httpRequest.js";
import type { TrackerLimits } from "./limits.js";
import type { PeerEntry, SwarmCounts } from "./swarmTable.js";

/** `failure reason` alone (the client codec's encoder). */
export { encodeHttpFailure as failureBody } from "../../src/protocol/tracker/index.js";

export function announceBody(counts: SwarmCounts, peers: readonly PeerEntry[], format: PeerListFormat, limits: TrackerLimits): Buffer {
  const dict = new Map<string, BencodeEncodable>([
    ["interval", limits.intervalSeconds],
    ["min interval", Math.max(1, Math.floor(limits.intervalSeconds / 2))],
    ["complete", counts.complete],
    ["incomplete", counts.incomplete],
    ["downloaded", counts.downloaded],
  ]);
  if (format === "compact") {
    const v4: Buffer[] = [];
    const v6: Buffer[] = [];
    for (const peer of peers) {
      const bytes = Buffer.from(peer.key, "latin1");
      (bytes.length === 6 ? v4 : v6).push(bytes);
    }
    dict.set("peers", Buffer.concat(v4));
    if (v6.length > 0) dict.set("peers6", Buffer.concat(v6));
  } else {
    dict.set("peers", peers.map((peer) => peerDict(peer, format)));
  }
  return encode(dict);
}

function peerDict(peer: PeerEntry, format: "dictionary" | "dictionaryNoPeerId"): Map<string, BencodeEncodable> {
  const endpoint = endpointFromCompact(Buffer.from(peer.key, "latin1"));
  const dict = new Map<string, BencodeEncodable>([
    ["ip", endpoint.ip],
    ["port", endpoint.port],
  ]);
  if (format === "dictionary") dict.set("peer id", Buffer.from(peer.peerId, "latin1"));
  return dict;
}

export function scrapeBody(files: readonly ({ readonly infoHash: string } & SwarmCounts)[]): Buffer {
  const byHash = new Map<string, BencodeEncodable>();
  for (const file of files) {
    byHash.set(
      Buffer.from(file.infoHash, "hex").toString("latin1"),
      new Map([
        ["complete", file.complete],
        ["downloaded", file.downloaded],
        ["incomplete", file.incomplete],
      ]),
    );
  }
  return encode(new Map([["files", byHash]]));
}
