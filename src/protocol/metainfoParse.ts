/**
 * .torrent parsing (BEP 3, 12, 19, 27, 47; BEP 52 hybrids run as v1).
 *
 * Guarantees of `parseMetainfo`, for any input:
 * - it throws only MetainfoError, naming the field and the reason (bencode damage is a
 *   MetainfoError on field "torrent" whose cause is the BencodeError with its offset);
 * - the info-hash is the SHA-1 of the info dict's bytes exactly as they appear in the
 *   input, never of a re-encoding (so unsorted keys in old torrents hash as everyone else
 *   hashes them), and `infoBytes` are those bytes;
 * - the result is self-consistent: files are contiguous from offset 0 to `length`,
 *   `pieceCount` = ceil(length / pieceLength) = pieceHashes.length / 20, every path is
 *   safe to join under a download directory (paths.ts), no two real files collide;
 * - memory and work are bounded by METAINFO_LIMITS whatever the input claims.
 *
 * Strict where the content is defined (the info dict: a wrong type or value is an
 * error), lenient where libtorrent is lenient and nothing depends on it: unsorted dict
 * keys, and the informational `comment`, `created by`, `creation date`, which are
 * ignored when they have the wrong type.
 */
import { createHash } from "node:crypto";
import { decodeDocument, type BencodeDict, type BencodeValue } from "./bencode.js";
import { BencodeError, MetainfoError } from "./errors.js";
import { asBytes, asDict, asInteger, asIntegerIn, asList, optional } from "./metainfoFields.js";
import { checkHybridFileTree, parseFileLayout } from "./metainfoFiles.js";
import { utf8Lossy, utf8OrUndefined } from "./paths.js";
import type { Metainfo } from "./types.js";

/**
 * Bounds on what a .torrent may ask of us: libtorrent 2.0's defaults where it has one
 * (2^21 pieces, depth 100, 3M bencode items; piece length below 2^30). Measured on the
 * 2-core dev box: the worst inputs (1.5M empty dicts, 2.9M one-byte strings) cost ~320 MB
 * of heap and under a second before their MetainfoError; a 200,000-file torrent parses
 * in ~0.9 s with ~270 MB of heap.
 */
export const METAINFO_LIMITS = {
  /** The whole .torrent file. 2^21 piece hashes alone are 40 MiB. */
  maxTorrentBytes: 64 * 1024 * 1024,
  maxDepth: 100,
  /** Bencode items (values, keys, ends); a file entry takes about 8. */
  maxTokens: 3_000_000,
  maxPieces: 2 ** 21,
  maxFiles: 300_000,
  /** libtorrent refuses 2^30 and accepts 2^29; non-powers of two are valid in v1. */
  maxPieceLength: 2 ** 29,
  /** BEP 52: a v2 (hybrid) piece length is a power of two of at least 16 KiB. */
  minHybridPieceLength: 16 * 1024,
  /** maxPieces x maxPieceLength: 1 PiB, exact in a double. */
  maxTotalLength: 2 ** 50,
} as const;

const HASH_LENGTH = 20;

export type MetainfoLimits = { readonly [K in keyof typeof METAINFO_LIMITS]: number };

export function parseMetainfo(buf: Uint8Array): Metainfo {
  return parseMetainfoWith(buf, {});
}

export interface ParseOptions {
  /** "sorted" checks bytes we produced ourselves (buildTorrent); input from elsewhere is read with "any". */
  readonly keyOrder?: "any" | "sorted";
  /** Tests lower the limits to reach them with small inputs. */
  readonly limits?: MetainfoLimits;
}

export function parseMetainfoWith(buf: Uint8Array, options: ParseOptions): Metainfo {
  const limits = options.limits ?? METAINFO_LIMITS;
  if (buf.length > limits.maxTorrentBytes) throw new MetainfoError("torrent", `is ${buf.length} bytes (at most ${limits.maxTorrentBytes})`);
  const doc = decodeTorrent(buf, options.keyOrder ?? "any", limits);
  const root = asDict(doc.value, "torrent");
  const info = asDict(root.get("info"), "info");
  const span = doc.spans.get("info");
  if (span === undefined) throw new MetainfoError("info", "has no byte span (internal error)");
  const infoBytes = Buffer.from(buf.subarray(span.start, span.end));
  const infoHash = createHash("sha1").update(infoBytes).digest();

  const hybrid = readMetaVersion(info);
  const pieceLength = readPieceLength(info, hybrid, limits);
  const pieceHashes = asBytes(info.get("pieces"), "info.pieces");
  if (pieceHashes.length % HASH_LENGTH !== 0) {
    throw new MetainfoError("info.pieces", `length ${pieceHashes.length} is not a multiple of ${HASH_LENGTH}`);
  }
  const pieceCount = pieceHashes.length / HASH_LENGTH;
  if (pieceCount > limits.maxPieces) throw new MetainfoError("info.pieces", `holds ${pieceCount} hashes (at most ${limits.maxPieces})`);

  const layout = parseFileLayout(info, limits);
  if (layout.length === 0) throw new MetainfoError("info", "total length is 0: there is nothing to share");
  const expected = Math.ceil(layout.length / pieceLength);
  if (pieceCount !== expected) {
    throw new MetainfoError("info.pieces", `holds ${pieceCount} hashes, but ${layout.length} bytes in pieces of ${pieceLength} need ${expected}`);
  }
  if (hybrid) checkHybridFileTree(info.get("file tree"), layout, limits.maxFiles);

  const announce = optional(root, "announce", "announce", readUrl);
  const announceList = readAnnounceList(root, announce);
  return {
    infoHash,
    infoHashHex: infoHash.toString("hex"),
    infoBytes,
    name: layout.name,
    layout: layout.layout,
    pieceLength,
    pieceCount,
    pieceHashes,
    length: layout.length,
    files: layout.files,
    announce,
    announceList,
    urlList: readUrlList(root),
    private: (optional(info, "private", "info.private", asInteger) ?? 0) !== 0,
    hybrid,
    comment: informationalText(root, "comment"),
    createdBy: informationalText(root, "created by"),
    creationDate: informationalInteger(root, "creation date"),
  };
}

function decodeTorrent(buf: Uint8Array, keyOrder: "any" | "sorted", limits: MetainfoLimits): ReturnType<typeof decodeDocument> {
  try {
    return decodeDocument(buf, { maxDepth: limits.maxDepth, maxTokens: limits.maxTokens, keyOrder });
  } catch (e) {
    if (e instanceof BencodeError) throw new MetainfoError("torrent", `is not valid bencode: ${e.reason} at byte ${e.offset}`, { cause: e });
    throw e;
  }
}

/** BEP 52: absent = v1; 2 = v2, which we accept only as a hybrid carrying a full v1 part. */
function readMetaVersion(info: BencodeDict): boolean {
  const version = optional(info, "meta version", "info.meta version", asInteger);
  if (version === undefined) return false;
  if (version !== 2) throw new MetainfoError("info.meta version", `is ${version}; only 2 (BEP 52) is known`);
  if (!info.has("pieces")) throw new MetainfoError("info.pieces", "is missing: v2-only torrents are not supported (hybrid v1+v2 ones are)");
  return true;
}

function readPieceLength(info: BencodeDict, hybrid: boolean, limits: MetainfoLimits): number {
  const field = "info.piece length";
  const pieceLength = asIntegerIn(info.get("piece length"), field, 1, limits.maxPieceLength);
  const powerOfTwo = (pieceLength & (pieceLength - 1)) === 0;
  if (hybrid && (!powerOfTwo || pieceLength < limits.minHybridPieceLength)) {
    throw new MetainfoError(field, `must be a power of two of at least ${limits.minHybridPieceLength} in a hybrid torrent, got ${pieceLength}`);
  }
  return pieceLength;
}

/** A tracker or web seed URL; empty ones are dropped by the callers (BEP 12 lists hold them). */
function readUrl(value: BencodeValue, field: string): string | undefined {
  const text = utf8Lossy(asBytes(value, field)).trim();
  return text === "" ? undefined : text;
}

/** BEP 12 tiers, empty entries and tiers dropped; a lone `announce` becomes one tier. */
function readAnnounceList(root: BencodeDict, announce: string | undefined): string[][] {
  const tiers = optional(root, "announce-list", "announce-list", asList) ?? [];
  const out: string[][] = [];
  for (const [i, tierValue] of tiers.entries()) {
    const tier = asList(tierValue, `announce-list[${i}]`)
      .map((url, j) => readUrl(url, `announce-list[${i}][${j}]`))
      .filter((url): url is string => url !== undefined);
    if (tier.length > 0) out.push(tier);
  }
  if (out.length === 0 && announce !== undefined) out.push([announce]);
  return out;
}

/** BEP 19: one URL or a list of them. */
function readUrlList(root: BencodeDict): string[] {
  const value = root.get("url-list");
  if (value === undefined) return [];
  const urls = Array.isArray(value) ? value.map((url, i) => readUrl(url, `url-list[${i}]`)) : [readUrl(value, "url-list")];
  return urls.filter((url): url is string => url !== undefined);
}

// Informational fields: ignored when malformed, as libtorrent does; nothing depends on them.
function informationalText(root: BencodeDict, key: string): string | undefined {
  const preferred = root.get(`${key}.utf-8`);
  const preferredText = Buffer.isBuffer(preferred) ? utf8OrUndefined(preferred) : undefined;
  if (preferredText !== undefined) return preferredText;
  const value = root.get(key);
  return Buffer.isBuffer(value) ? utf8Lossy(value) : undefined;
}

function informationalInteger(root: BencodeDict, key: string): number | undefined {
  const value = root.get(key);
  return typeof value === "number" ? value : undefined;
}
