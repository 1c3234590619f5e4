/**
 * The tracker's side of BEP 15: requests decoded (any datagram -> a verdict, no throw) and
 * replies encoded. Used by an embedded tracker and by tests that play a tracker; the
 * client's side is udp.ts, and the two round-trip.
 */
import { encodeCompactPeers, type AnswerPeer } from "./peers.js";
import { CONNECT_REQUEST_SIZE, ANNOUNCE_REQUEST_SIZE, MAX_SCRAPE_HASHES, UDP_PROTOCOL_ID, UdpAction } from "./udp.js";
import type { AnnounceEvent, AnnounceRequest, ScrapeEntry } from "./types.js";

const EVENTS: readonly AnnounceEvent[] = ["none", "completed", "started", "stopped"];

export type UdpRequestVerdict =
  | { readonly kind: "connect"; readonly txid: number }
  | { readonly kind: "announce"; readonly connectionId: Buffer; readonly txid: number; readonly request: AnnounceRequest }
  | { readonly kind: "scrape"; readonly connectionId: Buffer; readonly txid: number; readonly infoHashes: readonly Buffer[] }
  | { readonly kind: "malformed"; readonly reason: string };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function decodeUdpRequest(packet: Buffer): UdpRequestVerdict {
  if (packet.length < 16) return { kind: "malformed", reason: `${packet.length}-byte datagram is shorter than any request` };
  const action = packet.readUInt32BE(8);
  const txid = packet.readUInt32BE(12);
  switch (action) {
    case UdpAction.connect:
      if (packet.readBigUInt64BE(0) !== UDP_PROTOCOL_ID) return { kind: "malformed", reason: "connect without the protocol id" };
      if (packet.length !== CONNECT_REQUEST_SIZE) return { kind: "malformed", reason: `connect request of ${packet.length} bytes` };
      return { kind: "connect", txid };
    case UdpAction.announce: {
      if (packet.length < ANNOUNCE_REQUEST_SIZE) return { kind: "malformed", reason: `announce request of ${packet.length} bytes (98 expected)` };
      const counts = [packet.readBigUInt64BE(56), packet.readBigUInt64BE(64), packet.readBigUInt64BE(72)];
      if (counts.some((c) => c > MAX_SAFE)) return { kind: "malformed", reason: "a byte count beyond 2^53-1" };
      const [downloaded = 0n, left = 0n, uploaded = 0n] = counts;
      const event = EVENTS[packet.readUInt32BE(80)];
      if (event === undefined) return { kind: "malformed", reason: `event ${packet.readUInt32BE(80)}` };
      return {
        kind: "announce",
        connectionId: Buffer.from(packet.subarray(0, 8)),
        txid,
        request: {
          infoHash: Buffer.from(packet.subarray(16, 36)),
          peerId: Buffer.from(packet.subarray(36, 56)),
          downloaded: Number(downloaded),
          left: Number(left),
          uploaded: Number(uploaded),
          event,
          key: packet.readUInt32BE(88),
          numwant: packet.readInt32BE(92),
          port: packet.readUInt16BE(96),
        },
      };
    }
    case UdpAction.scrape: {
      const body = packet.length - 16;
      if (body === 0 || body % 20 !== 0 || body / 20 > MAX_SCRAPE_HASHES) return { kind: "malformed", reason: `scrape request of ${packet.length} bytes` };
      const infoHashes: Buffer[] = [];
      for (let at = 16; at < packet.length; at += 20) infoHashes.push(Buffer.from(packet.subarray(at, at + 20)));
      return { kind: "scrape", connectionId: Buffer.from(packet.subarray(0, 8)), txid, infoHashes };
    }
    default:
      return { kind: "malformed", reason: `unknown action ${action}` };
  }
}

function header(action: number, txid: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  out.writeUInt32BE(action, 0);
  out.writeUInt32BE(txid, 4);
  return out;
}

export function encodeConnectReply(txid: number, connectionId: Buffer): Buffer {
  const out = header(UdpAction.connect, txid, 16);
  connectionId.copy(out, 8, 0, 8);
  return out;
}

export interface UdpAnnounceAnswer {
  readonly intervalSec: number;
  readonly leechers: number;
  readonly seeders: number;
  /** All of the socket's family (6-byte entries on IPv4, 18 on IPv6). */
  readonly peers: readonly AnswerPeer[];
}

export function encodeAnnounceReply(txid: number, answer: UdpAnnounceAnswer, family: "ipv4" | "ipv6" = "ipv4"): Buffer {
  const out = header(UdpAction.announce, txid, 20);
  out.writeUInt32BE(answer.intervalSec, 8);
  out.writeUInt32BE(answer.leechers, 12);
  out.writeUInt32BE(answer.seeders, 16);
  return Buffer.concat([out, encodeCompactPeers(answer.peers, family)]);
}

export function encodeScrapeReply(txid: number, entries: readonly ScrapeEntry[]): Buffer {
  const out = header(UdpAction.scrape, txid, 8 + 12 * entries.length);
  entries.forEach((e, i) => {
    out.writeUInt32BE(e.seeders, 8 + 12 * i);
    out.writeUInt32BE(e.completed, 12 + 12 * i);
    out.writeUInt32BE(e.leechers, 16 + 12 * i);
  });
  return out;
}

export function encodeErrorReply(txid: number, message: string): Buffer {
  return Buffer.concat([header(UdpAction.error, txid, 8), Buffer.from(message, "utf8")]);
}
