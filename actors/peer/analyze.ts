/**
 * The peer link's analyzer: what one decoded wire event means for this link, as a tagged
 * verdict carrying its evidence. Pure: it reads a PeerLinkState and changes nothing; the
 * peer actor's executor switches on `kind` and performs the effects (sends, picker calls,
 * machine events, closing).
 *
 * What it guarantees:
 * - Total: every WireEvent gets a verdict and the analyzer does not throw, whatever the
 *   peer sent. Indices, offsets and bitfields are checked again against the torrent
 *   (`contextViolation`), and BEP 6 / BEP 10 messages against what the handshake agreed,
 *   so a message decoded before the metadata was known is held to the same rules.
 * - The machine is fed changes only: a choke, unchoke or interest message that repeats the
 *   link's current flag is `ignore`d, and interest / unsnub events ride on the verdict that
 *   causes them, present only when they change a flag.
 * - Upload accounting stays bounded: `serve` is returned only while the upload queue has
 *   room; past the bound a request is rejected (BEP 6) or, without the fast extension,
 *   ends the link (we advertised the bound as `reqq`).
 * - BEP 3 / BEP 6 differences are decided here: a request we will not serve is rejected
 *   when fast is on and silently dropped when it is off; a choke abandons our outstanding
 *   requests only when fast is off (with fast, each one gets its own reject or piece); a
 *   cancel is answered with a reject only when fast is on.
 * - bitfield / haveAll / haveNone are accepted only as the peer's first message; a
 *   keep-alive, BEP 10 extended messages and a DHT port may come before it (libtorrent sends
 *   its extended handshake first, and a libtorrent that came with a magnet link asks for the
 *   metadata and says upload_only before it can send its pieces). A peer that skips the
 *   bitfield has nothing (BEP 3).
 *
 * It trusts the decoder for what the type cannot say: numbers are unsigned 32-bit integers.
 */

import {
  Bitfield,
  contextViolation,
  type ExtendedHandshake,
  type TorrentGeometry,
  type ViolationReason,
  type WireEvent,
  type WireFeatures,
  type WireMessage,
} from "../../src/protocol/wire/index.js";
import type { BlockRequest, PieceSet } from "../pieceMgr/picker.js";
import { interestChange, interestInPiece, type InterestEvent } from "./interest.js";
import type { LinkEventOf, LinkFlags } from "./machine.js";
import type { RequestLookup, UploadQueueView } from "./requests.js";

/** Whether the peer may still send its bitfield / haveAll / haveNone. */
export type Opening = "awaitingPieces" | "open";

export interface PeerLinkState {
  readonly flags: LinkFlags;
  readonly features: WireFeatures;
  readonly geometry: TorrentGeometry;
  /** Pieces we have (verified and written). */
  readonly ours: Bitfield;
  /** Pieces the peer announced so far (empty until its first message says otherwise). */
  readonly theirs: Bitfield;
  readonly opening: Opening;
  /** Pieces we told the peer it may request while we choke it (BEP 6 allowed fast). */
  readonly allowedFastToThem: PieceSet;
  /** Their requests we accepted and have not served. */
  readonly uploads: UploadQueueView;
  /** Our requests to them not yet answered. */
  readonly outstanding: RequestLookup;
  /** The extended message ids we announced in our handshake's `m`, to their names. */
  readonly extensionNames: ReadonlyMap<number, string>;
}

/** Why the analyzer ends a link; each is also a machine `CloseReason`. */
export type ProtocolCloseReason = "violation" | "bitfieldNotFirst" | "uploadQueueOverflow";

export type IgnoreReason =
  | "keepAlive"
  /** BEP 5 port: we run no DHT. */
  | "dhtPort"
  /** An extended message id we never announced. */
  | "unknownExtension"
  /** A choke / unchoke / (not) interested that repeats the current flag. */
  | "redundant"
  /** A have for a piece the peer had already announced. */
  | "alreadyAnnounced"
  /** A suggest or allowed-fast for a piece we already have. */
  | "alreadyHave"
  /** A request for a block already in the upload queue. */
  | "duplicateRequest"
  /** A cancel for a request not in the upload queue (already served, or never made). */
  | "cancelNotQueued"
  /** A reject for a request we have not outstanding (it was answered, or never sent). */
  | "rejectNotRequested";

export type WireVerdict =
  | { readonly kind: "close"; readonly reason: "violation"; readonly violation: ViolationReason; readonly detail: string }
  | { readonly kind: "close"; readonly reason: "bitfieldNotFirst" | "uploadQueueOverflow"; readonly detail: string }
  /** The peer's whole piece set (its first message); replaces `theirs`. */
  | {
      readonly kind: "peerPieces";
      readonly source: "bitfield" | "haveAll" | "haveNone";
      readonly set: Bitfield;
      readonly interest: InterestEvent | undefined;
    }
  | { readonly kind: "peerHas"; readonly index: number; readonly interest: LinkEventOf<"BECOME_INTERESTED"> | undefined }
  | { readonly kind: "stateChange"; readonly event: LinkEventOf<"PEER_UNCHOKE" | "PEER_INTERESTED" | "PEER_NOT_INTERESTED"> }
  /**
   * The peer choked us. `abandoned`: our outstanding requests it dropped (all of them
   * without fast, BEP 3; none with fast, where each gets its own reject or piece).
   */
  | { readonly kind: "choked"; readonly event: LinkEventOf<"PEER_CHOKE">; readonly abandoned: readonly BlockRequest[] }
  /** A block we requested; `unsnub` when the link was snubbed. `block` is a view of the received bytes. */
  | {
      readonly kind: "block";
      readonly index: number;
      readonly begin: number;
      readonly block: Buffer;
      readonly unsnub: LinkEventOf<"UNSNUBBED"> | undefined;
    }
  /** A block we have no request out for (late after a cancel or choke, or unasked): count it. */
  | { readonly kind: "unrequestedBlock"; readonly index: number; readonly begin: number; readonly block: Buffer }
  /** Queue the request and send the block. */
  | { readonly kind: "serve"; readonly index: number; readonly begin: number; readonly length: number }
  /** Send a BEP 6 reject for it. */
  | {
      readonly kind: "rejectRequest";
      readonly reason: "choked" | "dontHave" | "queueFull";
      readonly index: number;
      readonly begin: number;
      readonly length: number;
    }
  /** Say nothing (no fast extension: BEP 3 has no reject). */
  | {
      readonly kind: "dropRequest";
      readonly reason: "choked" | "dontHave";
      readonly index: number;
      readonly begin: number;
      readonly length: number;
    }
  /** Remove it from the upload queue; `answer` "reject": BEP 6 wants one reply per request. */
  | {
      readonly kind: "cancelServe";
      readonly index: number;
      readonly begin: number;
      readonly length: number;
      readonly answer: "reject" | "none";
    }
  /** The peer refused one of our outstanding requests (BEP 6): give the block back to the picker. */
  | { readonly kind: "requestRejected"; readonly index: number; readonly begin: number; readonly length: number }
  /** We may request this piece even while choked (BEP 6). */
  | { readonly kind: "allowedFast"; readonly index: number }
  | { readonly kind: "suggest"; readonly index: number }
  | { readonly kind: "extendedHandshake"; readonly handshake: ExtendedHandshake }
  /** An extended message we announced, by the name we announced it under. */
  | { readonly kind: "extension"; readonly name: string; readonly extId: number; readonly payload: Buffer }
  | { readonly kind: "ignore"; readonly why: IgnoreReason; readonly detail: string };

export type WireVerdictKind = WireVerdict["kind"];

const FAST_ONLY: ReadonlySet<WireMessage["type"]> = new Set(["suggest", "haveAll", "haveNone", "reject", "allowedFast"]);
const EXTENDED_ONLY: ReadonlySet<WireMessage["type"]> = new Set(["extendedHandshake", "extended"]);

function close(violation: ViolationReason, detail: string): WireVerdict {
  return { kind: "close", reason: "violation", violation, detail };
}

function ignore(why: IgnoreReason, detail: string): WireVerdict {
  return { kind: "ignore", why, detail };
}

export function analyzeWire(state: PeerLinkState, event: WireEvent): WireVerdict {
  if (event.type === "violation") return close(event.reason, event.detail);
  if (FAST_ONLY.has(event.type) && !state.features.fast) {
    return close("notNegotiated", `${event.type} without the fast extension`);
  }
  if (EXTENDED_ONLY.has(event.type) && !state.features.extended) {
    return close("notNegotiated", `${event.type} without the extension protocol`);
  }
  const bad = contextViolation(event, state.geometry);
  if (bad !== undefined) return close(bad.reason, bad.detail);
  return analyzeMessage(state, event);
}

function analyzeMessage(s: PeerLinkState, m: WireMessage): WireVerdict {
  switch (m.type) {
    case "keepAlive":
      return ignore("keepAlive", "keep-alive");
    case "choke":
      if (s.flags.peerChoking) return ignore("redundant", "choke while choked");
      return { kind: "choked", event: { type: "PEER_CHOKE" }, abandoned: s.features.fast ? [] : s.outstanding.list() };
    case "unchoke":
      if (!s.flags.peerChoking) return ignore("redundant", "unchoke while unchoked");
      return { kind: "stateChange", event: { type: "PEER_UNCHOKE" } };
    case "interested":
      if (s.flags.peerInterested) return ignore("redundant", "interested while interested");
      return { kind: "stateChange", event: { type: "PEER_INTERESTED" } };
    case "notInterested":
      if (!s.flags.peerInterested) return ignore("redundant", "not interested while not interested");
      return { kind: "stateChange", event: { type: "PEER_NOT_INTERESTED" } };
    case "have":
      if (s.theirs.has(m.index)) return ignore("alreadyAnnounced", `have ${m.index} again`);
      return { kind: "peerHas", index: m.index, interest: interestInPiece(s.ours, m.index, s.flags.amInterested) };
    case "bitfield": {
      const set = Bitfield.fromBytes(s.geometry.pieceCount, m.bits);
      if (!(set instanceof Bitfield)) return close(set.reason, set.detail);
      return piecesFirst(s, "bitfield", set);
    }
    case "haveAll":
      return piecesFirst(s, "haveAll", Bitfield.full(s.geometry.pieceCount));
    case "haveNone":
      return piecesFirst(s, "haveNone", new Bitfield(s.geometry.pieceCount));
    case "request":
      return analyzeRequest(s, m.index, m.begin, m.length);
    case "piece":
      if (s.outstanding.lengthAt(m.index, m.begin) !== m.block.length) {
        return { kind: "unrequestedBlock", index: m.index, begin: m.begin, block: m.block };
      }
      return { kind: "block", index: m.index, begin: m.begin, block: m.block, unsnub: s.flags.snubbed ? UNSNUB : undefined };
    case "cancel":
      if (s.uploads.lengthAt(m.index, m.begin) !== m.length) {
        return ignore("cancelNotQueued", `cancel piece ${m.index} begin ${m.begin} length ${m.length}`);
      }
      return { kind: "cancelServe", index: m.index, begin: m.begin, length: m.length, answer: s.features.fast ? "reject" : "none" };
    case "port":
      return ignore("dhtPort", `port ${m.port}`);
    case "suggest":
      if (s.ours.has(m.index)) return ignore("alreadyHave", `suggest ${m.index}`);
      return { kind: "suggest", index: m.index };
    case "reject":
      if (s.outstanding.lengthAt(m.index, m.begin) !== m.length) {
        return ignore("rejectNotRequested", `reject piece ${m.index} begin ${m.begin} length ${m.length}`);
      }
      return { kind: "requestRejected", index: m.index, begin: m.begin, length: m.length };
    case "allowedFast":
      if (s.ours.has(m.index)) return ignore("alreadyHave", `allowed fast ${m.index}`);
      return { kind: "allowedFast", index: m.index };
    case "extendedHandshake":
      return { kind: "extendedHandshake", handshake: m.handshake };
    case "extended": {
      const name = s.extensionNames.get(m.extId);
      if (name === undefined) return ignore("unknownExtension", `extended message id ${m.extId}`);
      return { kind: "extension", name, extId: m.extId, payload: m.payload };
    }
    default:
      return assertNever(m);
  }
}

const UNSNUB: LinkEventOf<"UNSNUBBED"> = { type: "UNSNUBBED" };

function piecesFirst(s: PeerLinkState, source: "bitfield" | "haveAll" | "haveNone", set: Bitfield): WireVerdict {
  if (s.opening !== "awaitingPieces") {
    return { kind: "close", reason: "bitfieldNotFirst", detail: `${source} after the peer's first message` };
  }
  return { kind: "peerPieces", source, set, interest: interestChange(s.ours, set, s.flags.amInterested) };
}

function analyzeRequest(s: PeerLinkState, index: number, begin: number, length: number): WireVerdict {
  const grantedWhileChoked = s.features.fast && s.allowedFastToThem.has(index);
  if (s.flags.amChoking && !grantedWhileChoked) return refuse(s, "choked", index, begin, length);
  if (!s.ours.has(index)) return refuse(s, "dontHave", index, begin, length);
  if (s.uploads.lengthAt(index, begin) !== undefined) {
    return ignore("duplicateRequest", `request piece ${index} begin ${begin} already queued`);
  }
  if (s.uploads.size >= s.uploads.bound) {
    if (s.features.fast) return { kind: "rejectRequest", reason: "queueFull", index, begin, length };
    return {
      kind: "close",
      reason: "uploadQueueOverflow",
      detail: `request beyond the ${s.uploads.bound} we queue (piece ${index} begin ${begin})`,
    };
  }
  return { kind: "serve", index, begin, length };
}

function refuse(s: PeerLinkState, reason: "choked" | "dontHave", index: number, begin: number, length: number): WireVerdict {
  return s.features.fast
    ? { kind: "rejectRequest", reason, index, begin, length }
    : { kind: "dropRequest", reason, index, begin, length };
}

/**
 * The opening after `event`: the first message other than a keep-alive, a BEP 10 extended
 * message or a DHT port closes it. Call it after executing each event's verdict.
 */
export function openingAfter(opening: Opening, event: WireEvent): Opening {
  if (opening === "open") return "open";
  switch (event.type) {
    case "keepAlive":
    case "extendedHandshake":
    case "extended":
    case "port":
      return "awaitingPieces";
    default:
      return "open";
  }
}

/** What to do with the peer's queued requests when we choke it. */
export interface ChokeUploads {
  readonly kind: "chokeUploads";
  /** Remove silently (no fast extension: BEP 3's choke discards them). */
  readonly drop: readonly BlockRequest[];
  /** Remove and send a reject for each (BEP 6); allowed-fast requests stay queued. */
  readonly reject: readonly BlockRequest[];
}

export function uploadsOnChoke(uploads: RequestLookup, features: WireFeatures, allowedFastToThem: PieceSet): ChokeUploads {
  const queued = uploads.list();
  if (!features.fast) return { kind: "chokeUploads", drop: queued, reject: [] };
  return { kind: "chokeUploads", drop: [], reject: queued.filter((r) => !allowedFastToThem.has(r.piece)) };
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
