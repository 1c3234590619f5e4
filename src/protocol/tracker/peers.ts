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

type Family = "ipv4" | "ipv6";

const entrySize = (family: Family): number => (family === "ipv4" ? COMPACT_IPV4_ENTRY : COMPACT_IPV6_ENTRY);

/** The peer in the compact entry at `at` (the caller checked that a whole entry is there). */
export function peerAt(bytes: Buffer, at: number, family: Family): TrackerPeer {
  const port = bytes.readUInt16BE(at + entrySize(family) - 2);
  if (family === "ipv4") return { host: `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`, port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  // Node's net module normalises the long form when it connects; keep it simple and unambiguous.
  return { host: groups.join(":"), port };
}

/** Compact peers: `entry` bytes each (address, then a big-endian port). */
export function decodeCompactPeers(bytes: Buffer, family: Family, maxPeers: number): PeerListVerdict {
  const entry = entrySize(family);
  if (bytes.length % entry !== 0) {
    return { kind: "malformed", reason: `${bytes.length} bytes is not a whole number of ${entry}-byte ${family} entries` };
  }
  const peers: TrackerPeer[] = [];
  let dropped = 0;
  const count = bytes.length / entry;
  for (let i = 0; i < count; i++) {
    const at = i * entry;
    if (bytes.readUInt16BE(at + entry - 2) === 0 || peers.length >= maxPeers) {
      dropped++;
      continue;
    }
    peers.push(peerAt(bytes, at, family));
  }
  return { kind: "peers", peers, dropped };
}

/**
 * A peer in a tracker's answer: an address (with its peer id, for BEP 3's dictionary
 * model), or its compact entry already (6 or 18 bytes): a tracker's table keeps peers that
 * way, and they go out without a decode and re-encode each (~1.5 us a peer).
 */
export type AnswerPeer = (TrackerPeer & { readonly peerId?: Buffer }) | Buffer;

/** The family of a peer's compact entry; RangeError for a host name or a bad entry (programming errors). */
export function familyOf(peer: AnswerPeer): Family {
  if (Buffer.isBuffer(peer)) {
    if (peer.length === COMPACT_IPV4_ENTRY) return "ipv4";
    if (peer.length === COMPACT_IPV6_ENTRY) return "ipv6";
    throw new RangeError(`a compact entry is 6 or 18 bytes, got ${peer.length}`);
  }
  const version = isIP(peer.host);
  if (version === 0) throw new RangeError(`not an IP address: ${peer.host}`);
  return version === 4 ? "ipv4" : "ipv6";
}

/** One peer's compact entry: 6 bytes for an IPv4 address, 18 for IPv6 (a tracker's table keys peers by it). */
export function compactEntry(peer: TrackerPeer): Buffer {
  const family = familyOf(peer);
  const out = Buffer.alloc(entrySize(family));
  writeEntry(out, 0, peer, family);
  return out;
}

/** The address (and peer id, if it has one) of a peer given either way. */
export function addressOf(peer: AnswerPeer): TrackerPeer & { readonly peerId?: Buffer } {
  return Buffer.isBuffer(peer) ? peerAt(peer, 0, familyOf(peer)) : peer;
}

/** Compact entries written back to back (an embedded tracker's replies, tests); every peer must be of `family`. */
export function encodeCompactPeers(peers: readonly AnswerPeer[], family: Family): Buffer {
  const entry = entrySize(family);
  const out = Buffer.alloc(peers.length * entry);
  peers.forEach((p, i) => {
    if (familyOf(p) !== family) throw new RangeError(`not an ${family === "ipv4" ? "IPv4" : "IPv6"} peer: ${Buffer.isBuffer(p) ? p.toString("hex") : p.host}`);
    if (Buffer.isBuffer(p)) p.copy(out, i * entry);
    else writeEntry(out, i * entry, p, family);
  });
  return out;
}

function writeEntry(out: Buffer, at: number, peer: TrackerPeer, family: Family): void {
  if (family === "ipv4") writeIpv4(out, at, peer.host);
  else writeIpv6(out, at, peer.host);
  out.writeUInt16BE(peer.port, at + entrySize(family) - 2);
}

function writeIpv4(out: Buffer, at: number, host: string): void {
  host.split(".").forEach((part, j) => out.writeUInt8(Number(part), at + j));
}

/** Total over what isIP() calls IPv6, including an embedded IPv4 tail (`64:ff9b::1.2.3.4`). */
function writeIpv6(out: Buffer, at: number, host: string): void {
  let text = host;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1] !== undefined) {
    writeIpv4(out, at + 12, v4Tail[1]);
    text = `${text.slice(0, v4Tail.index)}0:0`; // two placeholder groups, overwritten below by the tail
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  const limit = v4Tail === null ? 8 : 6;
  for (let j = 0; j < limit; j++) out.writeUInt16BE(Number.parseInt(groups[j] ?? "0", 16), at + 2 * j);
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
