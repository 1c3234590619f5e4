/**
 * The BEP 10 extended handshake's dictionary <-> `ExtendedHandshake`. Decoding refuses
 * only what makes the message meaningless (not bencode, not a dict, an `m` that is not a
 * dict); a known key with a value of the wrong type or range is dropped like an unknown
 * key, as libtorrent does, because clients differ in such details.
 */

import { decode, encode, type BencodeDict, type BencodeEncodable, type BencodeValue } from "../bencode.js";
import { BencodeError } from "../errors.js";
import { addressBytes, formatAddress } from "./address.js";
import { WireUsageError, type ExtendedHandshake, type WireViolation } from "./types.js";

/** Nothing legitimate nests deeper than `m` inside the top dict. */
const MAX_DEPTH = 8;

export type ExtendedHandshakeParse = { readonly type: "ok"; readonly value: ExtendedHandshake } | WireViolation;

function bad(detail: string): WireViolation {
  return { type: "violation", reason: "badExtendedHandshake", detail };
}

function integerIn(v: BencodeValue | undefined, min: number, max: number): number | undefined {
  return typeof v === "number" && v >= min && v <= max ? v : undefined;
}

function isDict(v: BencodeValue | undefined): v is BencodeDict {
  return v instanceof Map;
}

export function parseExtendedHandshake(payload: Buffer): ExtendedHandshakeParse {
  let root: BencodeValue;
  try {
    root = decode(payload, { maxDepth: MAX_DEPTH });
  } catch (e) {
    if (e instanceof BencodeError) return bad(`extended handshake: ${e.message}`);
    throw e;
  }
  if (!isDict(root)) return bad("extended handshake is not a dictionary");
  const m = root.get("m");
  if (m !== undefined && !isDict(m)) return bad("extended handshake `m` is not a dictionary");
  const extensions = new Map<string, number>();
  for (const [name, id] of m ?? []) {
    const n = integerIn(id, 0, 255);
    if (n !== undefined) extensions.set(name, n);
  }
  const v = root.get("v");
  const yourip = root.get("yourip");
  return {
    type: "ok",
    value: {
      extensions,
      listenPort: integerIn(root.get("p"), 1, 65535),
      client: Buffer.isBuffer(v) ? v.toString("utf8") : undefined,
      yourIp: Buffer.isBuffer(yourip) ? formatAddress(yourip) : undefined,
      requestQueue: integerIn(root.get("reqq"), 1, Number.MAX_SAFE_INTEGER),
      metadataSize: integerIn(root.get("metadata_size"), 1, Number.MAX_SAFE_INTEGER),
    },
  };
}

/** The bencoded dictionary (the payload after extended id 0). */
export function encodeExtendedHandshakePayload(h: ExtendedHandshake): Buffer {
  const dict = new Map<string, BencodeEncodable>();
  dict.set("m", new Map<string, BencodeEncodable>(h.extensions));
  if (h.listenPort !== undefined) dict.set("p", h.listenPort);
  if (h.client !== undefined) dict.set("v", h.client);
  if (h.yourIp !== undefined) {
    const ip = addressBytes(h.yourIp);
    if (ip === undefined) throw new WireUsageError(`yourip ${JSON.stringify(h.yourIp)} is not an IP address`);
    dict.set("yourip", ip);
  }
  if (h.requestQueue !== undefined) dict.set("reqq", h.requestQueue);
  if (h.metadataSize !== undefined) dict.set("metadata_size", h.metadataSize);
  return encode(dict);
}
