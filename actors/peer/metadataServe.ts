/**
 * Serving our metadata (BEP 9, ut_metadata) to a peer that came with a magnet link: pure
 * decisions the peer executor carries out.
 *
 * - We announce ut_metadata under UT_METADATA_ID with the info dictionary's size; a request
 *   for a piece of it is answered with that piece (16 KiB, the last one shorter), taken
 *   from the original bytes the info-hash was computed on.
 * - A request for a piece that does not exist is rejected (BEP 9's reject). A request from
 *   a peer that announced no ut_metadata id is ignored: there is no id to answer under.
 * - Data or rejects sent to us are ignored: we already have the metadata.
 * - A malformed ut_metadata message is ignored, as libtorrent does; it costs us nothing.
 * What a peer can make us send is bounded like every other answer (PeerSocket's backlog
 * pause stops reading a peer that asks and does not read).
 */
import { metadataPieceCount, type MetadataParse } from "../../src/protocol/wire/metadata.js";

/** The id we announce for ut_metadata in our `m` (libtorrent's choice too; any 1..255 works). */
export const UT_METADATA_ID = 2;

export type MetadataAnswer =
  | { readonly kind: "send"; readonly piece: number; readonly theirId: number }
  | { readonly kind: "reject"; readonly piece: number; readonly theirId: number }
  | { readonly kind: "ignore"; readonly detail: string };

export function answerMetadata(parse: MetadataParse, metadataSize: number, theirId: number | undefined): MetadataAnswer {
  if (parse.type === "bad") return { kind: "ignore", detail: parse.detail };
  if (parse.type === "unknown") return { kind: "ignore", detail: `ut_metadata msg_type ${parse.msgType}` };
  const m = parse.message;
  if (m.type !== "request") return { kind: "ignore", detail: `ut_metadata ${m.type} for piece ${m.piece}: we have the metadata` };
  if (theirId === undefined || theirId === 0) return { kind: "ignore", detail: "a metadata request from a peer with no ut_metadata id to answer under" };
  if (m.piece >= metadataPieceCount(metadataSize)) return { kind: "reject", piece: m.piece, theirId };
  return { kind: "send", piece: m.piece, theirId };
}
