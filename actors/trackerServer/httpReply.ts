/**
 * The tracker's HTTP reply bodies: announce (BEP 23 compact `peers` and BEP 7 `peers6`, or
 * BEP 3's list of dicts), scrape (BEP 48) and `failure reason`. The codec is the protocol's
 * (src/protocol/tracker, shared with the client); this file maps the table's answers onto
 * it. Compact entries are the table's keys already and go out as they are.
 */
import { encodeHttpAnnounce, encodeHttpScrape, type AnswerPeer } from "../../src/protocol/tracker/index.js";
import { endpointFromCompact } from "./endpoint.js";
import type { PeerListFormat } from "./httpRequest.js";
import type { TrackerLimits } from "./limits.js";
import { scrapeEntry, type PeerEntry, type SwarmCounts } from "./swarmTable.js";

/** `failure reason` alone. */
export { encodeHttpFailure as failureBody } from "../../src/protocol/tracker/index.js";

export function announceBody(counts: SwarmCounts, peers: readonly PeerEntry[], format: PeerListFormat, limits: TrackerLimits): Buffer {
  return encodeHttpAnnounce({
    intervalSec: limits.intervalSeconds,
    minIntervalSec: Math.max(1, Math.floor(limits.intervalSeconds / 2)),
    seeders: counts.complete,
    leechers: counts.incomplete,
    downloaded: counts.downloaded,
    model: format === "compact" ? "compact" : "dict",
    peers: peers.map((peer) => answerPeer(peer, format)),
  });
}

function answerPeer(peer: PeerEntry, format: PeerListFormat): AnswerPeer {
  const entry = Buffer.from(peer.key, "latin1");
  if (format !== "dictionary") return entry;
  const endpoint = endpointFromCompact(entry);
  return { host: endpoint.ip, port: endpoint.port, peerId: Buffer.from(peer.peerId, "latin1") };
}

export function scrapeBody(files: readonly ({ readonly infoHash: string } & SwarmCounts)[]): Buffer {
  return encodeHttpScrape(files.map((file) => ({ infoHash: Buffer.from(file.infoHash, "hex"), ...scrapeEntry(file) })));
}
