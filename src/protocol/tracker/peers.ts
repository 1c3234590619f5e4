/**
 * Peer lists as trackers send them: compact (BEP 23: 6 bytes per IPv4 peer; BEP 7: 18 per
 * IPv6 peer) and the original dictionary model (a list of {ip, port, peer id}). Bounded:
 * at most `maxPeers` are kept, the rest counted; entries we cannot dial (port 0, an address
 * that is neither IP nor host name) are dropped and counted, never fatal.
 */
import { isIP } from "node:net";
import type { BencodeValue } from "../bencode.js";
import type { TrackerPeer } from "./types.js";

export interface PeerList {
  readonly peers: TrackerPeer[];
  readonly dropped: number;
}

export type PeerListVerdict = ({ readonly kind: "peers" } & PeerList) | { readonly kind: "malformed"; readonly reason: string };

export const COMPACT_IPV4_ENTRY = 6;
export const COMPACT_IPV6_ENTRY = 18;

function ipv6Text(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  // Node's net module normalises the long form when it connects; keep it simple and unambiguous.
  return groups.join(":");
}

/** Compact peers: `entry` bytes each (address, then a big-endian port). */
export function decodeCompactPeers(bytes: Buffer, family: "ipv4" | "ipv6", maxPeers: number): PeerListVerdict {
  const entry = family === "ipv4" ? COMPACT_IPV4_ENTRY : COMPACT_IPV6_ENTRY;
  if (bytes.length % entry !== 0) {
    return { kind: "malformed", reason: `${bytes.length} bytes is not a whole number of ${entry}-byte ${family} entries` };
  }
  const peers: TrackerPeer[] = [];
  let dropped = 0;
  const count = bytes.length / entry;
  for (let i = 0; i < count; i++) {
    const at = i * entry;
    const port = bytes.readUInt16BE(at + entry - 2);
    if (port === 0 || peers.length >= maxPeers) {
      dropped++;
      continue;
    }
    const host = family === "ipv4" ? `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}` : ipv6Text(bytes, at);
    peers.push({ host, port });
  }
  return { kind: "peers", peers, dropped };
}

/** Compact peers written back (tests, and an embedded tracker's replies). */
export function encodeCompactPeers(peers: readonly TrackerPeer[], family: "ipv4" | "ipv6"): Buffer {
  const entry = family === "ipv4" ? COMPACT_IPV4_ENTRY : COMPACT_IPV6_ENTRY;
  const out = Buffer.alloc(peers.length * entry);
  peers.forEach((p, i) => {
    const at = i * entry;
    if (family === "ipv4") {
      const parts = p.host.split(".").map(Number);
      if (parts.length !== 4 || isIP(p.host) !== 4) throw new RangeError(`not an IPv4 address: ${p.host}`);
      parts.forEach((b, j) => out.writeUInt8(b, at + j));
    } else {
      writeIpv6(out, at, p.host);
    }
    out.writeUInt16BE(p.port, at + entry - 2);
  });
  return out;
}

function writeIpv6(out: Buffer, at: number, host: string): void {
  if (isIP(host) !== 6 || host.includes(".")) throw new RangeError(`not a plain IPv6 address: ${host}`);
  const [head = "", tail = ""] = host.includes("::") ? host.split("::") : [host, ""];
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  groups.forEach((g, j) => out.writeUInt16BE(parseInt(g, 16), at + 2 * j));
}

const MAX_HOST_LENGTH = 253;

/** The dictionary model: a list of dicts with `ip` (text) and `port` (integer). */
export function decodeDictPeers(list: readonly BencodeValue[], maxPeers: number): PeerListVerdict {
  const peers: TrackerPeer[] = [];
  let dropped = 0;
  for (const [i, item] of list.entries()) {
    if (!(item instanceof Map)) return { kind: "malformed", reason: `peers[${i}] is not a dictionary` };
    const ip = item.get("ip");
    const port = item.get("port");
    if (!Buffer.isBuffer(ip)) return { kind: "malformed", reason: `peers[${i}].ip is not a byte string` };
    if (typeof port !== "number") return { kind: "malformed", reason: `peers[${i}].port is not an integer` };
    const host = ip.toString("latin1");
    if (port < 1 || port > 65535 || !usableHost(host) || peers.length >= maxPeers) {
      dropped++;
      continue;
    }
    peers.push({ host, port });
  }
  return { kind: "peers", peers, dropped };
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function usableHost(host: string): boolean {
  return host.length <= MAX_HOST_LENGTH && (isIP(host) !== 0 || HOSTNAME.test(host));
}
