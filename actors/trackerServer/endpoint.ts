/**
 * Peer addresses: normalising what a socket reports, deciding whose word we take for a
 * peer's IP, and the compact forms of BEP 23 (6 bytes) and BEP 7 / BEP 15 over IPv6 (18 bytes).
 */
import { isIPv4, isIPv6 } from "node:net";
import type { PeerEndpoint } from "./types.js";

/** A socket's remote address as a family and a canonical string (an IPv4-mapped IPv6 address is IPv4). */
export function endpointOf(address: string, port: number): PeerEndpoint | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped?.[1] ?? address;
  if (isIPv4(ip)) return { family: "ipv4", ip, port };
  if (isIPv6(ip)) return { family: "ipv6", ip: ip.toLowerCase(), port };
  return undefined;
}

export function isLoopback(ip: string): boolean {
  return ip === "::1" || /^127\./.test(ip) || /^::ffff:127\./i.test(ip);
}

/**
 * The address a peer is listed under. The socket's source address, except that a client on
 * this machine (loopback) may name another one with `ip=`: local test rigs and a reverse
 * proxy on the same host need that, and nobody outside can use it to list a third party's
 * address (the classic tracker-driven DDoS).
 */
export function chooseEndpoint(source: PeerEndpoint, claimedIp: string | undefined): PeerEndpoint {
  if (claimedIp === undefined || !isLoopback(source.ip)) return source;
  return endpointOf(claimedIp, source.port) ?? source;
}

/** 4 or 16 address bytes then the port, big-endian; the table's key for a peer. */
export function compactEndpoint(endpoint: PeerEndpoint): Buffer {
  const out = Buffer.alloc(endpoint.family === "ipv4" ? 6 : 18);
  const addressBytes = endpoint.family === "ipv4" ? ipv4Bytes(endpoint.ip) : ipv6Bytes(endpoint.ip);
  addressBytes.copy(out, 0);
  out.writeUInt16BE(endpoint.port, addressBytes.length);
  return out;
}

/** The inverse of compactEndpoint (6 or 18 bytes). */
export function endpointFromCompact(bytes: Buffer): PeerEndpoint {
  if (bytes.length === 6) {
    return { family: "ipv4", ip: `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`, port: bytes.readUInt16BE(4) };
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return { family: "ipv6", ip: groups.join(":"), port: bytes.readUInt16BE(16) };
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split(".").map((part) => Number(part)));
}

/** Callers pass only strings that isIPv6 accepted (endpointOf), so the expansion below is total. */
function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1] !== undefined) {
    ipv4Bytes(v4Tail[1]).copy(out, 12);
    text = `${text.slice(0, v4Tail.index)}0:0`; // two placeholder groups, overwritten below by the tail
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  const limit = v4Tail === null ? 8 : 6;
  for (let i = 0; i < limit; i++) out.writeUInt16BE(Number.parseInt(groups[i] ?? "0", 16), i * 2);
  return out;
}
