/**
 * BEP 15 packets. Encoders take validated requests (a bad request of ours is a programming
 * error and throws RangeError). `decodeUdpReply` never throws: every datagram becomes a
 * verdict, and one that is not an answer to the transaction we wait for is `stray` (the
 * caller keeps waiting), so a forged or late packet cannot end a transaction.
 *
 * Sizes: connect request 16, connect reply 16; announce request 98, reply 20 + 6n (IPv4)
 * or 20 + 18n (IPv6 trackers); scrape request 16 + 20n (n <= 74), reply 8 + 12n; error
 * reply 8 + message.
 */
import { checkAnnounceRequest } from "./url.js";
import { decodeCompactPeers } from "./peers.js";
import { trackerText } from "./text.js";
import type { AnnounceEvent, AnnounceReply, AnnounceRequest, ScrapeEntry } from "./types.js";

/** The magic constant a connect request carries (0x41727101980). */
export const UDP_PROTOCOL_ID = 0x41727101980n;

export const UdpAction = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
export type UdpActionName = keyof typeof UdpAction;

const EVENT_CODES: Readonly<Record<AnnounceEvent, number>> = { none: 0, completed: 1, started: 2, stopped: 3 };

export const CONNECT_REQUEST_SIZE = 16;
export const ANNOUNCE_REQUEST_SIZE = 98;
export const ANNOUNCE_REPLY_HEADER = 20;
/** A scrape request must fit the minimum UDP payload every path carries (BEP 15: 74 hashes). */
export const MAX_SCRAPE_HASHES = 74;

function checkTxid(txid: number): void {
  if (!Number.isInteger(txid) || txid < 0 || txid > 0xffffffff) throw new RangeError(`udp tracker: bad transaction id ${txid}`);
}

function checkConnectionId(id: Buffer): void {
  if (id.length !== 8) throw new RangeError(`udp tracker: connection id must be 8 bytes, got ${id.length}`);
}

export function encodeConnect(txid: number): Buffer {
  checkTxid(txid);
  const out = Buffer.alloc(CONNECT_REQUEST_SIZE);
  out.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
  out.writeUInt32BE(UdpAction.connect, 8);
  out.writeUInt32BE(txid, 12);
  return out;
}

export function encodeAnnounce(connectionId: Buffer, txid: number, req: AnnounceRequest): Buffer {
  checkConnectionId(connectionId);
  checkTxid(txid);
  checkAnnounceRequest(req);
  const out = Buffer.alloc(ANNOUNCE_REQUEST_SIZE);
  connectionId.copy(out, 0);
  out.writeUInt32BE(UdpAction.announce, 8);
  out.writeUInt32BE(txid, 12);
  req.infoHash.copy(out, 16);
  req.peerId.copy(out, 36);
  out.writeBigUInt64BE(BigInt(req.downloaded), 56);
  out.writeBigUInt64BE(BigInt(req.left), 64);
  out.writeBigUInt64BE(BigInt(req.uploaded), 72);
  out.writeUInt32BE(EVENT_CODES[req.event], 80);
  out.writeUInt32BE(0, 84); // IP: 0 = the packet's source address
  out.writeUInt32BE(req.key, 88);
  out.writeInt32BE(req.numwant, 92);
  out.writeUInt16BE(req.port, 96);
  return out;
}

export function encodeScrape(connectionId: Buffer, txid: number, infoHashes: readonly Buffer[]): Buffer {
  checkConnectionId(connectionId);
  checkTxid(txid);
  if (infoHashes.length === 0 || infoHashes.length > MAX_SCRAPE_HASHES) {
    throw new RangeError(`udp scrape: 1 to ${MAX_SCRAPE_HASHES} info-hashes, got ${infoHashes.length}`);
  }
  const out = Buffer.alloc(16 + 20 * infoHashes.length);
  connectionId.copy(out, 0);
  out.writeUInt32BE(UdpAction.scrape, 8);
  out.writeUInt32BE(txid, 12);
  infoHashes.forEach((h, i) => {
    if (h.length !== 20) throw new RangeError(`udp scrape: info-hash ${i} must be 20 bytes`);
    h.copy(out, 16 + 20 * i);
  });
  return out;
}

export type UdpReplyVerdict =
  | { readonly kind: "connected"; readonly connectionId: Buffer }
  | { readonly kind: "announced"; readonly reply: AnnounceReply }
  | { readonly kind: "scraped"; readonly entries: readonly ScrapeEntry[] }
  | { readonly kind: "error"; readonly message: string }
  /** Not an answer to this transaction (another transaction id, a runt): keep waiting. */
  | { readonly kind: "stray"; readonly reason: string }
  /** Our transaction id, but not a valid answer: the transaction failed. */
  | { readonly kind: "malformed"; readonly reason: string };

export interface UdpExpectation {
  readonly txid: number;
  readonly action: "connect" | "announce" | "scrape";
  /** Address family of the tracker: an IPv6 tracker's announce reply carries 18-byte peers. */
  readonly family?: "ipv4" | "ipv6";
  readonly maxPeers: number;
  /** For scrape: how many info-hashes were asked. */
  readonly scraped?: number;
}

export function decodeUdpReply(packet: Buffer, expect: UdpExpectation): UdpReplyVerdict {
  if (packet.length < 8) return { kind: "stray", reason: `${packet.length}-byte datagram is shorter than any reply` };
  const action = packet.readUInt32BE(0);
  const txid = packet.readUInt32BE(4);
  if (txid !== expect.txid) return { kind: "stray", reason: `transaction id ${txid} is not ours (${expect.txid})` };
  if (action === UdpAction.error) {
    return { kind: "error", message: trackerText(packet.subarray(8)) };
  }
  if (action !== UdpAction[expect.action]) return { kind: "malformed", reason: `action ${action} in reply to a ${expect.action} request` };
  switch (expect.action) {
    case "connect":
      if (packet.length < 16) return { kind: "malformed", reason: `connect reply of ${packet.length} bytes (16 expected)` };
      return { kind: "connected", connectionId: Buffer.from(packet.subarray(8, 16)) };
    case "announce":
      return decodeAnnounceReply(packet, expect.family ?? "ipv4", expect.maxPeers);
    case "scrape":
      return decodeScrapeReply(packet, expect.scraped ?? 1);
  }
}

function decodeAnnounceReply(packet: Buffer, family: "ipv4" | "ipv6", maxPeers: number): UdpReplyVerdict {
  if (packet.length < ANNOUNCE_REPLY_HEADER) return { kind: "malformed", reason: `announce reply of ${packet.length} bytes (at least 20 expected)` };
  const peers = decodeCompactPeers(packet.subarray(ANNOUNCE_REPLY_HEADER), family, maxPeers);
  if (peers.kind === "malformed") return { kind: "malformed", reason: `peers: ${peers.reason}` };
  return {
    kind: "announced",
    reply: {
      intervalSec: packet.readUInt32BE(8),
      minIntervalSec: undefined,
      trackerId: undefined,
      leechers: packet.readUInt32BE(12),
      seeders: packet.readUInt32BE(16),
      peers: peers.peers,
      peersDropped: peers.dropped,
      warning: undefined,
    },
  };
}

function decodeScrapeReply(packet: Buffer, asked: number): UdpReplyVerdict {
  const body = packet.length - 8;
  if (body % 12 !== 0 || body / 12 !== asked) {
    return { kind: "malformed", reason: `scrape reply of ${packet.length} bytes for ${asked} info-hashes (${8 + 12 * asked} expected)` };
  }
  const entries: ScrapeEntry[] = [];
  for (let at = 8; at < packet.length; at += 12) {
    entries.push({ seeders: packet.readUInt32BE(at), completed: packet.readUInt32BE(at + 4), leechers: packet.readUInt32BE(at + 8) });
  }
  return { kind: "scraped", entries };
}
