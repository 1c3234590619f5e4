/**
 * BEP 15 (UDP tracker) requests as the tracker reads them, and its replies. The packet codec
 * is src/protocol/tracker (decodeUdpRequest, encode*Reply); this file adds the server's
 * policy on top. Total over its input: every datagram gives a verdict, never a throw.
 *
 * - Dropped unanswered: a datagram too short to hold a transaction id, and a connect that
 *   is malformed (no protocol magic): it is not a tracker client, and an answer would feed
 *   reflection attacks.
 * - Any other bad request gets an error packet (serve.ts: only when it carries a valid
 *   connection id, so a spoofed source gets nothing), its message cut to 64 bytes.
 * - The announce's IP field is read here (the codec ignores it): honoured from loopback
 *   only, like HTTP's `ip=` (endpoint.ts).
 */
import {
  COMPACT_IPV4_ENTRY,
  COMPACT_IPV6_ENTRY,
  decodeUdpRequest,
  encodeAnnounceReply,
  encodeConnectReply,
  encodeErrorReply,
  encodeScrapeReply,
  UdpAction,
} from "../../src/protocol/tracker/index.js";
import { chooseEndpoint } from "./endpoint.js";
import type { TrackerLimits } from "./limits.js";
import { scrapeEntry, type PeerEntry, type SwarmCounts } from "./swarmTable.js";
import type { AnnounceRequest, PeerEndpoint, ScrapeRequest } from "./types.js";

export type UdpVerdict =
  | { readonly kind: "connect"; readonly transactionId: number }
  | { readonly kind: "announce"; readonly transactionId: number; readonly connectionId: Buffer; readonly request: AnnounceRequest }
  | { readonly kind: "scrape"; readonly transactionId: number; readonly connectionId: Buffer; readonly request: ScrapeRequest }
  /** Well framed (a transaction id, a connection id) but not a valid request. */
  | { readonly kind: "invalid"; readonly transactionId: number; readonly connectionId: Buffer; readonly reason: string }
  | { readonly kind: "dropped"; readonly reason: string };

const HEADER_BYTES = 16;
const IP_OFFSET = 84;
const MAX_ERROR_MESSAGE_BYTES = 64;

export function parseUdpRequest(packet: Buffer, source: PeerEndpoint, limits: TrackerLimits): UdpVerdict {
  const decoded = decodeUdpRequest(packet);
  switch (decoded.kind) {
    case "malformed":
      if (packet.length < HEADER_BYTES || packet.readUInt32BE(8) === UdpAction.connect) return { kind: "dropped", reason: decoded.reason };
      return { kind: "invalid", transactionId: packet.readUInt32BE(12), connectionId: Buffer.from(packet.subarray(0, 8)), reason: decoded.reason };
    case "connect":
      return { kind: "connect", transactionId: decoded.txid };
    case "announce": {
      const req = decoded.request;
      if (req.port === 0) return { kind: "invalid", transactionId: decoded.txid, connectionId: decoded.connectionId, reason: "invalid port 0" };
      const ip = packet.readUInt32BE(IP_OFFSET);
      const claimedIp = ip === 0 || source.family !== "ipv4" ? undefined : `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
      return {
        kind: "announce",
        transactionId: decoded.txid,
        connectionId: decoded.connectionId,
        request: {
          infoHash: req.infoHash.toString("hex"),
          peerId: req.peerId,
          endpoint: chooseEndpoint({ ...source, port: req.port }, claimedIp),
          uploaded: req.uploaded,
          downloaded: req.downloaded,
          left: req.left,
          event: req.event,
          numwant: req.numwant < 0 ? undefined : req.numwant,
        },
      };
    }
    case "scrape":
      if (decoded.infoHashes.length > limits.maxScrapeHashes) {
        return { kind: "invalid", transactionId: decoded.txid, connectionId: decoded.connectionId, reason: `more than ${limits.maxScrapeHashes} info-hashes in one scrape` };
      }
      return {
        kind: "scrape",
        transactionId: decoded.txid,
        connectionId: decoded.connectionId,
        request: { infoHashes: decoded.infoHashes.map((h) => h.toString("hex")) },
      };
    default: {
      const unreachable: never = decoded;
      throw new Error(`tracker: unexpected UDP request ${JSON.stringify(unreachable)}`);
    }
  }
}

export const connectReply = encodeConnectReply;

/** Only peers of the socket's family fit its reply (6-byte entries on IPv4, 18 on IPv6); compact keys go out as they are. */
export function announceReply(transactionId: number, intervalSeconds: number, counts: SwarmCounts, peers: readonly PeerEntry[], family: PeerEndpoint["family"]): Buffer {
  const entryBytes = family === "ipv4" ? COMPACT_IPV4_ENTRY : COMPACT_IPV6_ENTRY;
  const fitting: Buffer[] = [];
  for (const peer of peers) {
    if (peer.key.length === entryBytes) fitting.push(Buffer.from(peer.key, "latin1"));
  }
  return encodeAnnounceReply(transactionId, { intervalSec: intervalSeconds, leechers: counts.incomplete, seeders: counts.complete, peers: fitting }, family);
}

export function scrapeReply(transactionId: number, files: readonly SwarmCounts[]): Buffer {
  return encodeScrapeReply(transactionId, files.map(scrapeEntry));
}

export function errorReply(transactionId: number, message: string): Buffer {
  return encodeErrorReply(transactionId, Buffer.from(message, "utf8").subarray(0, MAX_ERROR_MESSAGE_BYTES).toString("utf8"));
}
