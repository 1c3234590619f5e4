/**
 * IP addresses as the wire carries them (4 or 16 raw bytes, BEP 10 `yourip`) and as Node
 * prints them. An IPv4-mapped IPv6 text ("::ffff:1.2.3.4", what a dual-stack server sees)
 * is written as its 4 IPv4 bytes.
 */

import { isIPv4, isIPv6 } from "node:net";

/** Dotted IPv4 for 4 bytes, uncompressed IPv6 for 16, undefined for any other length. */
export function formatAddress(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split(".").map(Number));
}

/** The raw bytes of an IPv4 or IPv6 address text, or undefined if it is neither. */
export function addressBytes(text: string): Buffer | undefined {
  if (isIPv4(text)) return ipv4Bytes(text);
  if (!isIPv6(text)) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped?.[1] !== undefined) return ipv4Bytes(mapped[1]);
  // isIPv6 accepted it, so there is at most one "::" and every group is 1-4 hex digits;
  // an embedded dotted quad is replaced by its two groups first.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  let hex = text;
  if (tail !== null) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    hex = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = "", right] = hex.split("::");
  const head = left === "" ? [] : left.split(":");
  const rest = right === undefined || right === "" ? [] : right.split(":");
  const zeros = right === undefined ? 0 : 8 - head.length - rest.length;
  const groups = [...head, ...Array<string>(zeros).fill("0"), ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
