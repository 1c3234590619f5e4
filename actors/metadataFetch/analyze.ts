/**
 * The metadata fetch's decisions (BEP 9), pure: what a peer's extended handshake and its
 * ut_metadata messages mean for the link we opened to get the info dictionary.
 */
import type { ExtendedHandshake } from "../../src/protocol/wire/index.js";
import { MAX_METADATA_BYTES, type MetadataParse } from "../../src/protocol/wire/metadata.js";

export type GiveUpReason = "noExtensionProtocol" | "noMetadataExtension" | "badMetadataSize" | "rejected" | "badMessage" | "badMetadata" | "timeout" | "closed" | "connectFailed" | "handshakeRefused";

export type OfferVerdict =
  | { readonly kind: "fetch"; readonly theirId: number; readonly totalSize: number }
  | { readonly kind: "giveUp"; readonly why: GiveUpReason; readonly detail: string };

/** Their extended handshake: can this peer give us the metadata, and how big is it? */
export function judgeOffer(h: ExtendedHandshake): OfferVerdict {
  const theirId = h.extensions.get("ut_metadata");
  // BEP 10: an id of 0 means the extension is switched off.
  if (theirId === undefined || theirId === 0) return { kind: "giveUp", why: "noMetadataExtension", detail: "no ut_metadata in their extended handshake" };
  const size = h.metadataSize;
  if (size === undefined) return { kind: "giveUp", why: "noMetadataExtension", detail: "no metadata_size: the peer has no metadata to give" };
  if (size > MAX_METADATA_BYTES) return { kind: "giveUp", why: "badMetadataSize", detail: `metadata_size ${size} > ${MAX_METADATA_BYTES}` };
  return { kind: "fetch", theirId, totalSize: size };
}

export type MessageVerdict =
  | { readonly kind: "ignore" }
  | { readonly kind: "store"; readonly piece: number; readonly totalSize: number; readonly data: Buffer }
  /** They ask us for metadata we do not have: say no (BEP 9 reject). */
  | { readonly kind: "refuse"; readonly piece: number }
  | { readonly kind: "giveUp"; readonly why: GiveUpReason; readonly detail: string };

export function judgeMessage(parse: MetadataParse): MessageVerdict {
  if (parse.type === "bad") return { kind: "giveUp", why: "badMessage", detail: parse.detail };
  if (parse.type === "unknown") return { kind: "ignore" }; // BEP 9: room for future types
  const m = parse.message;
  switch (m.type) {
    case "data":
      return { kind: "store", piece: m.piece, totalSize: m.totalSize, data: m.data };
    case "request":
      return { kind: "refuse", piece: m.piece };
    case "reject":
      return { kind: "giveUp", why: "rejected", detail: `the peer rejected metadata piece ${m.piece}` };
    default: {
      const unreachable: never = m;
      throw new Error(`metadata message ${JSON.stringify(unreachable)}`);
    }
  }
}
