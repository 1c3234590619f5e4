/**
 * Serving our metadata (BEP 9, ut_metadata) to a peer that came with a magnet link: pure
 * decisions the peer executor carries out.
 *
 * - What we offer (`metadataOffer`): the info dictionary's original bytes, the ones the
 *   info-hash was computed on, announced as ut_metadata with metadata_size. Not for a
 *   private torrent (BEP 27: its peers come from its tracker, which hands out the .torrent;
 *   libtorrent offers none either), nor above MAX_METADATA_BYTES, the most a fetcher like
 *   ours takes.
 * - A request for a piece that exists is answered with it (16 KiB, the last one shorter)
 *   while our unsent bytes to that peer are under METADATA_SERVE_BACKLOG; past that, and for
 *   a piece that does not exist, with BEP 9's reject. An answer costs ~16 KiB for a ~30-byte
 *   request, so without that bound a peer asking and not reading could make us queue 500
 *   times what it sent (libtorrent bounds it the same way, by its send buffer). A reject is
 *   no longer than the request, and PeerSocket's backlog pause covers those.
 * - A request from a peer that announced no ut_metadata id is ignored: there is no id to
 *   answer under. Data, rejects, unknown types and malformed messages are ignored: we have
 *   the metadata, and ignoring costs nothing (libtorrent does the same).
 */
import { MAX_METADATA_BYTES, metadataPieceCount, type MetadataParse } from "../../src/protocol/wire/metadata.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { OUTBOUND_HIGH_WATER } from "./socketIo.js";

/** The id we announce for ut_metadata in our `m` (libtorrent's choice too; any 1..255 works). */
export const UT_METADATA_ID = 2;

/** Unsent bytes to a peer above which its metadata requests are rejected instead of answered. */
export const METADATA_SERVE_BACKLOG = OUTBOUND_HIGH_WATER;

export type MetadataOffer =
  | { readonly kind: "offer"; readonly size: number }
  | { readonly kind: "none"; readonly why: "private" | "tooLarge"; readonly detail: string };

export function metadataOffer(meta: Pick<Metainfo, "private" | "infoBytes">): MetadataOffer {
  if (meta.private) return { kind: "none", why: "private", detail: "a private torrent's metadata comes from its tracker (BEP 27)" };
  const size = meta.infoBytes.length;
  if (size > MAX_METADATA_BYTES) return { kind: "none", why: "tooLarge", detail: `info dictionary of ${size} bytes > ${MAX_METADATA_BYTES}` };
  return { kind: "offer", size };
}

export type MetadataAnswer =
  | { readonly kind: "send"; readonly piece: number; readonly theirId: number }
  | { readonly kind: "reject"; readonly piece: number; readonly theirId: number; readonly why: "noSuchPiece" | "busy" }
  | { readonly kind: "ignore"; readonly detail: string };

export interface ServeContext {
  readonly offer: MetadataOffer;
  /** The peer's ut_metadata id, from its extended handshake (0 or none: we may not send). */
  readonly theirId: number | undefined;
  /** Bytes we owe the peer and have not sent yet. */
  readonly backlog: number;
}

export function answerMetadata(parse: MetadataParse, c: ServeContext): MetadataAnswer {
  if (parse.type === "bad") return { kind: "ignore", detail: parse.detail };
  if (parse.type === "unknown") return { kind: "ignore", detail: `ut_metadata msg_type ${parse.msgType}` };
  const m = parse.message;
  if (m.type !== "request") return { kind: "ignore", detail: `ut_metadata ${m.type} for piece ${m.piece}: we have the metadata` };
  if (c.offer.kind === "none") return { kind: "ignore", detail: `a metadata request, but we offer none: ${c.offer.detail}` };
  const theirId = c.theirId;
  if (theirId === undefined || theirId === 0) return { kind: "ignore", detail: "a metadata request from a peer with no ut_metadata id to answer under" };
  if (m.piece >= metadataPieceCount(c.offer.size)) return { kind: "reject", piece: m.piece, theirId, why: "noSuchPiece" };
  if (c.backlog > METADATA_SERVE_BACKLOG) return { kind: "reject", piece: m.piece, theirId, why: "busy" };
  return { kind: "send", piece: m.piece, theirId };
}
