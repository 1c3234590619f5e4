/**
 * Magnet URIs (BEP 9): `magnet:?xt=urn:btih:<hash>&dn=<name>&tr=<tracker>&ws=<web seed>&x.pe=<host:port>`.
 *
 * Guarantees of `parseMagnet`: it throws only MagnetError (the parameter and the reason);
 * the input is bounded (MAX_MAGNET_LENGTH) before any work; the info-hash is 20 bytes
 * from 40 hex or 32 base32 characters; trackers (http, https, udp, ws, wss) and web seeds
 * (http, https) are absolute URLs; peers
 * are validated host:port pairs; repeated values are kept once, in order.
 *
 * Decisions: `+` decodes to a space and the scheme is case-insensitive (as URIs and
 * libtorrent's decoder have it); a malformed %-escape is an error, not silently dropped
 * (libtorrent drops the parameter); two different btih hashes are an error (libtorrent
 * keeps the last: which torrent would we fetch?); a magnet with only a v2 hash
 * (urn:btmh) is refused, since we run v1; the display name is decoded leniently (it is
 * only shown), everything else must be valid UTF-8; unknown parameters are ignored.
 */
import { MagnetError } from "./errors.js";
import { parseHostPort } from "./hostPort.js";
import type { MagnetLink } from "./types.js";

/** Characters; long enough for hundreds of trackers, short enough to parse in microseconds. */
export const MAX_MAGNET_LENGTH = 65_536;

const PREFIX = "magnet:?";
const BTIH = "urn:btih:";
const BTMH = "urn:btmh:";
// `xt`, and numbered forms such as `xt.1`, `tr.2` that some clients write.
const PARAM = /^(xt|dn|tr|ws|x\.pe)(?:\.\d{1,4})?$/;

export function parseMagnet(uri: string): MagnetLink {
  if (uri.length > MAX_MAGNET_LENGTH) throw new MagnetError("uri", `is ${uri.length} characters long (at most ${MAX_MAGNET_LENGTH})`);
  if (uri.slice(0, PREFIX.length).toLowerCase() !== PREFIX) throw new MagnetError("uri", `must start with "${PREFIX}"`);
  const hashEnd = uri.indexOf("#");
  const query = uri.slice(PREFIX.length, hashEnd < 0 ? uri.length : hashEnd);

  let infoHash: Buffer | undefined;
  let sawV2 = false;
  let displayName: string | undefined;
  const trackers = new Set<string>();
  const webSeeds = new Set<string>();
  const peers = new Map<string, { host: string; port: number }>();

  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const kind = PARAM.exec(name)?.[1];
    if (kind === undefined) continue;
    if (eq < 0) throw new MagnetError(name, "has no value");
    const bytes = percentDecode(pair.slice(eq + 1), name);
    switch (kind) {
      case "xt": {
        const value = strictUtf8(bytes, name);
        const prefix = value.slice(0, BTIH.length).toLowerCase();
        if (prefix === BTMH) sawV2 = true;
        if (prefix !== BTIH) break;
        const hash = parseBtih(value.slice(BTIH.length), name);
        if (infoHash !== undefined && !infoHash.equals(hash)) throw new MagnetError(name, "names two different info-hashes");
        infoHash = hash;
        break;
      }
      case "dn":
        displayName = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
        break;
      case "tr":
        trackers.add(parseUrl(strictUtf8(bytes, name), name, TRACKER_SCHEMES));
        break;
      case "ws":
        webSeeds.add(parseUrl(strictUtf8(bytes, name), name, WEB_SEED_SCHEMES));
        break;
      case "x.pe": {
        const verdict = parseHostPort(strictUtf8(bytes, name));
        if (verdict.kind === "rejected") throw new MagnetError(name, verdict.reason);
        const key = `${verdict.host}|${verdict.port}`;
        if (!peers.has(key)) peers.set(key, { host: verdict.host, port: verdict.port });
        break;
      }
      default:
        throw new MagnetError(name, "is not a parameter we read (internal error)");
    }
  }

  if (infoHash === undefined) {
    throw new MagnetError("xt", sawV2 ? "only a v2 info-hash (urn:btmh): v2-only magnets are not supported" : "no urn:btih info-hash");
  }
  return {
    infoHash,
    infoHashHex: infoHash.toString("hex"),
    displayName,
    trackers: [...trackers],
    webSeeds: [...webSeeds],
    peers: [...peers.values()],
  };
}

/** RFC 3986 percent-decoding, plus `+` as a space (form encoding, which magnet writers use). */
function percentDecode(text: string, param: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new MagnetError(param, `bad %-escape "${text.slice(i, i + 3)}" at character ${i}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (ch === "+") {
      out.push(0x20);
    } else {
      // A raw non-ASCII character (some writers do not escape): take its UTF-8 bytes.
      const code = text.codePointAt(i) as number;
      const char = String.fromCodePoint(code);
      out.push(...Buffer.from(char, "utf8"));
      i += char.length - 1;
    }
  }
  return Buffer.from(out);
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function strictUtf8(bytes: Buffer, param: string): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new MagnetError(param, "is not valid UTF-8 once %-decoded");
  }
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function parseBtih(text: string, param: string): Buffer {
  if (/^[0-9A-Fa-f]{40}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z2-7]{32}$/.test(text)) {
    const out = Buffer.alloc(20);
    let bits = 0;
    let acc = 0;
    let at = 0;
    for (const ch of text.toUpperCase()) {
      acc = ((acc << 5) | BASE32.indexOf(ch)) & 0xfff; // at most 12 bits are pending
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[at++] = (acc >>> bits) & 0xff;
      }
    }
    return out;
  }
  throw new MagnetError(param, `urn:btih must be followed by 40 hex or 32 base32 characters, got ${JSON.stringify(text.slice(0, 64))}`);
}

// Schemes we could ever use. Others (javascript:, file:, data:) are refused: a dashboard
// may render these as links, and no client announces to them.
const TRACKER_SCHEMES: readonly string[] = ["http:", "https:", "udp:", "ws:", "wss:"];
const WEB_SEED_SCHEMES: readonly string[] = ["http:", "https:"];

function parseUrl(text: string, param: string, schemes: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MagnetError(param, `${JSON.stringify(text.slice(0, 200))} is not an absolute URL`);
  }
  if (!schemes.includes(url.protocol)) throw new MagnetError(param, `scheme ${url.protocol} is not one of ${schemes.join(" ")}`);
  return text;
}
