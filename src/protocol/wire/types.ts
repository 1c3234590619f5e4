/**
 * The peer-wire vocabulary: what the decoder returns and the encoders take. Every value
 * carries its `type`, so a consumer switches on one field exhaustively; a protocol
 * violation is one more member of that union, not an exception.
 */

/** BEP 3 / BEP 6 / BEP 10 message ids. */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 13,
  haveAll: 14,
  haveNone: 15,
  reject: 16,
  allowedFast: 17,
  extended: 20,
} as const;

/** The block size every client requests (and the most a request or piece may carry here). */
export const BLOCK_LENGTH = 16 * 1024;

/** What the two ends agreed on in the handshake's reserved bytes (both set the bit). */
export interface WireFeatures {
  /** BEP 6: suggest, have all/none, reject, allowed fast. */
  readonly fast: boolean;
  /** BEP 10: the extended message (id 20). */
  readonly extended: boolean;
}

/** The torrent's shape, which the decoder checks indices and offsets against. */
export interface TorrentContext {
  readonly pieceCount: number;
  readonly pieceLength: number;
  /** Payload bytes; the last piece holds `totalLength - (pieceCount - 1) * pieceLength`. */
  readonly totalLength: number;
}

/**
 * BEP 10 extended handshake (extended message id 0). Unknown keys are dropped, and so is a
 * known key whose value has the wrong type or range (clients disagree on those; a missing
 * field is safe, a wrong one is not).
 */
export interface ExtendedHandshake {
  /** `m`: extension name -> the id the sender wants to receive it as; 0 turns it off. */
  readonly extensions: ReadonlyMap<string, number>;
  /** `p`: the sender's listen port. */
  readonly listenPort?: number | undefined;
  /** `v`: client name and version. */
  readonly client?: string | undefined;
  /** `yourip`: our address as the sender sees it (dotted IPv4 or IPv6 text). */
  readonly yourIp?: string | undefined;
  /** `reqq`: how many outstanding requests the sender queues. */
  readonly requestQueue?: number | undefined;
  /** `metadata_size` (BEP 9): bytes of the info dictionary. */
  readonly metadataSize?: number | undefined;
}

export type WireMessage =
  | { readonly type: "keepAlive" }
  | { readonly type: "choke" }
  | { readonly type: "unchoke" }
  | { readonly type: "interested" }
  | { readonly type: "notInterested" }
  | { readonly type: "have"; readonly index: number }
  /** Raw payload (a slice of the received bytes); `Bitfield.fromBytes` copies it. */
  | { readonly type: "bitfield"; readonly bits: Buffer }
  | { readonly type: "request"; readonly index: number; readonly begin: number; readonly length: number }
  /** `block` is a slice of the received chunk when the message arrived in one piece. */
  | { readonly type: "piece"; readonly index: number; readonly begin: number; readonly block: Buffer }
  | { readonly type: "cancel"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "port"; readonly port: number }
  | { readonly type: "suggest"; readonly index: number }
  | { readonly type: "haveAll" }
  | { readonly type: "haveNone" }
  | { readonly type: "reject"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "allowedFast"; readonly index: number }
  | { readonly type: "extendedHandshake"; readonly handshake: ExtendedHandshake }
  /** Any extended message but the handshake: `extId` is the id we announced for it in `m`. */
  | { readonly type: "extended"; readonly extId: number; readonly payload: Buffer };

export type WireMessageType = WireMessage["type"];

export type ViolationReason =
  /** The first bytes are not "\x13BitTorrent protocol". */
  | "badProtocolString"
  /** A length prefix over the limit for its message (checked before any byte is buffered). */
  | "oversizedLength"
  /** A length prefix that does not fit its message id (e.g. a 6-byte `have`). */
  | "badLength"
  | "unknownMessageId"
  /** A BEP 6 or BEP 10 message although the handshake did not agree on that extension. */
  | "notNegotiated"
  | "badBitfieldLength"
  | "spareBitsSet"
  | "requestTooLong"
  | "emptyRequest"
  | "indexOutOfRange"
  | "offsetOutOfRange"
  /** An extended handshake that is not a bencoded dictionary, or whose `m` is not one. */
  | "badExtendedHandshake";

export interface WireViolation {
  readonly type: "violation";
  readonly reason: ViolationReason;
  /** Where and what, for the log and the peer's exit reason. */
  readonly detail: string;
}

/** What the decoder hands out: a message, or the violation that ended the stream. */
export type WireEvent = WireMessage | WireViolation;

/** Misuse by our own code (a bad context, an encoder argument out of range): a bug, not input. */
export class WireUsageError extends Error {
  override readonly name = "WireUsageError";
}
