/**
 * Writes a v1 .torrent from a file list and its piece hashes (the hashing is storage's
 * job). The bytes are canonical bencode (keys sorted by raw bytes), and the Metainfo
 * returned is parsed back from exactly those bytes, with sorted keys required: what we
 * report (info-hash, files) is by construction what any client reading the file sees.
 * Bad options (an unsafe name, a fractional length) throw MetainfoError, like bad input.
 */
import { encode, type BencodeEncodable } from "./bencode.js";
import { BencodeEncodeError, MetainfoError } from "./errors.js";
import { parseMetainfoWith } from "./metainfoParse.js";
import type { Metainfo } from "./types.js";

export interface BuildTorrentOptions {
  readonly name: string;
  /** Single-file: exactly one entry with path []. Multi-file: paths below `name`, in payload order. */
  readonly files: readonly { readonly path: readonly string[]; readonly length: number }[];
  readonly pieceLength: number;
  /** 20 bytes per piece, in order. */
  readonly pieceHashes: Buffer;
  /** Tracker tiers (BEP 12); `announce` is the first tracker. */
  readonly announce?: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly webSeeds?: readonly string[];
  readonly private?: boolean;
  readonly createdBy?: string;
  /** Seconds since the epoch. */
  readonly creationDate?: number;
  readonly comment?: string;
}

type Dict = Map<string, BencodeEncodable>;

export function buildTorrent(opts: BuildTorrentOptions): { torrent: Buffer; metainfo: Metainfo } {
  const info: Dict = new Map<string, BencodeEncodable>([
    ["name", opts.name],
    ["piece length", opts.pieceLength],
    ["pieces", opts.pieceHashes],
  ]);
  const [first] = opts.files;
  if (opts.files.length === 1 && first?.path.length === 0) {
    info.set("length", first.length);
  } else {
    for (const [i, file] of opts.files.entries()) {
      if (file.path.length === 0) throw new MetainfoError(`files[${i}].path`, "is empty; only a single-file torrent's one entry has path []");
    }
    info.set(
      "files",
      opts.files.map((f) => new Map<string, BencodeEncodable>([["length", f.length], ["path", [...f.path]]])),
    );
  }
  if (opts.private === true) info.set("private", 1);

  const root: Dict = new Map<string, BencodeEncodable>([["info", info]]);
  const tiers = (opts.announce ?? []).map((tier) => tier.filter((url) => url !== "")).filter((tier) => tier.length > 0);
  const [firstTracker] = tiers.flat();
  if (firstTracker !== undefined) root.set("announce", firstTracker);
  if (tiers.flat().length > 1) root.set("announce-list", tiers.map((tier) => [...tier]));
  const webSeeds = (opts.webSeeds ?? []).filter((url) => url !== "");
  if (webSeeds.length > 0) root.set("url-list", webSeeds);
  if (opts.createdBy !== undefined) root.set("created by", opts.createdBy);
  if (opts.creationDate !== undefined) root.set("creation date", opts.creationDate);
  if (opts.comment !== undefined) root.set("comment", opts.comment);

  const torrent = encodeTorrent(root);
  return { torrent, metainfo: parseMetainfoWith(torrent, { keyOrder: "sorted" }) };
}

/** An unencodable option (a fractional length, a lone surrogate in a name) as a MetainfoError naming it. */
function encodeTorrent(root: Dict): Buffer {
  try {
    return encode(root);
  } catch (e) {
    if (e instanceof BencodeEncodeError) throw new MetainfoError(e.path.slice(1).replaceAll("/", "."), e.reason, { cause: e });
    throw e;
  }
}
