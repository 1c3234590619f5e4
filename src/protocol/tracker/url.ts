/**
 * Tracker URLs: which transport an announce URL names (validated once, when the announcer
 * starts), and the BEP 3 HTTP announce URL built from a request. Binary parameters
 * (info_hash, peer_id, trackerid) are percent-encoded byte by byte: every byte outside
 * RFC 3986's unreserved set becomes %XX, so any 20 bytes survive any tracker's decoder.
 */
import type { AnnounceRequest } from "./types.js";

export type TrackerUrl =
  | { readonly kind: "http"; readonly href: string }
  | { readonly kind: "udp"; readonly href: string; readonly host: string; readonly port: number };

export type TrackerUrlVerdict = TrackerUrl | { readonly kind: "rejected"; readonly href: string; readonly reason: string };

const MAX_URL_LENGTH = 2048;

export function parseTrackerUrl(text: string): TrackerUrlVerdict {
  const rejected = (reason: string): TrackerUrlVerdict => ({ kind: "rejected", href: text, reason });
  if (text.length > MAX_URL_LENGTH) return rejected(`longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return rejected("not a URL");
  }
  switch (url.protocol) {
    case "http:":
    case "https:":
      if (url.hostname === "") return rejected("no host");
      url.hash = "";
      return { kind: "http", href: url.href };
    case "udp:": {
      const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
      if (host === "") return rejected("no host");
      // A UDP tracker has no default port: BEP 15 URLs always name one.
      if (url.port === "") return rejected("a udp:// tracker URL needs a port");
      return { kind: "udp", href: text, host, port: Number(url.port) };
    }
    default:
      return rejected(`unsupported scheme ${url.protocol}`);
  }
}

const HEX = "0123456789ABCDEF";

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e // - . _ ~
  );
}

/** Each byte outside A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex). */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** A programming error: our own request is malformed (never the tracker's fault). */
export function checkAnnounceRequest(req: AnnounceRequest): void {
  if (req.infoHash.length !== 20) throw new RangeError(`announce: info-hash must be 20 bytes, got ${req.infoHash.length}`);
  if (req.peerId.length !== 20) throw new RangeError(`announce: peer id must be 20 bytes, got ${req.peerId.length}`);
  if (!Number.isInteger(req.port) || req.port < 0 || req.port > 65535) throw new RangeError(`announce: bad port ${req.port}`);
  for (const field of ["uploaded", "downloaded", "left"] as const) {
    const v = req[field];
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`announce: ${field} must be a non-negative safe integer, got ${v}`);
  }
  if (!Number.isInteger(req.numwant) || req.numwant < -1 || req.numwant > 0x7fffffff) throw new RangeError(`announce: bad numwant ${req.numwant}`);
  if (!Number.isInteger(req.key) || req.key < 0 || req.key > 0xffffffff) throw new RangeError(`announce: key must be a 32-bit unsigned integer, got ${req.key}`);
}

/** The GET URL of a BEP 3 announce (compact=1, BEP 23), appended to whatever query `base` already has (a passkey). */
export function buildAnnounceUrl(base: string, req: AnnounceRequest): string {
  checkAnnounceRequest(req);
  const hash = base.indexOf("#");
  const url = hash < 0 ? base : base.slice(0, hash);
  const params = [
    `info_hash=${percentEncodeBytes(req.infoHash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${req.uploaded}`,
    `downloaded=${req.downloaded}`,
    `left=${req.left}`,
    "compact=1",
    `numwant=${req.numwant < 0 ? 50 : req.numwant}`,
    `key=${req.key.toString(16).toUpperCase().padStart(8, "0")}`,
  ];
  if (req.event !== "none") params.push(`event=${req.event}`);
  if (req.trackerId !== undefined) params.push(`trackerid=${percentEncodeBytes(req.trackerId)}`);
  const sep = !url.includes("?") ? "?" : url.endsWith("?") || url.endsWith("&") ? "" : "&";
  return `${url}${sep}${params.join("&")}`;
}

