/**
 * Peer addresses: normalising what a socket reports, deciding whose word we take for a
 * peer's IP, and a peer's compact form (BEP 23: 6 bytes; BEP 7 / BEP 15 over IPv6: 18),
 * whose codec is the protocol's (src/protocol/tracker/peers.ts), shared with the client.
 */
import { isIPv4, isIPv6 } from "node:net";
import { COMPACT_IPV4_ENTRY, compactEntry, peerAt } from "../../src/protocol/tracker/index.js";
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

/** The peer's compact entry (4 or 16 address bytes, then the port): the table's key for a peer. */
export function compactEndpoint(endpoint: PeerEndpoint): Buffer {
  return compactEntry({ host: endpoint.ip, port: endpoint.port });
}

/** The inverse of compactEndpoint (6 or 18 bytes). */
export function endpointFromCompact(bytes: Buffer): PeerEndpoint {
  const family = bytes.length === COMPACT_IPV4_ENTRY ? "ipv4" : "ipv6";
  const peer = peerAt(bytes, 0, family);
  return { family, ip: peer.host, port: peer.port };
}
