/**
 * The rules one message frame must meet, split in two so the decoder can apply them
 * before it holds any bytes:
 * - `frameViolation` looks only at the length prefix and the id (5 bytes): a frame that
 *   passes it is no longer than its message allows, so buffering it is bounded.
 * - `decodePayload` turns a complete payload into a message, checking what the payload
 *   says (indices, offsets, spare bits) against the torrent geometry.
 */

import { bitfieldViolation } from "./bitfield.js";
import { parseExtendedHandshake } from "./extendedHandshake.js";
import { indexViolation, MAX_PIECE_COUNT, requestViolation, spanViolation, type TorrentGeometry } from "./geometry.js";
import { BLOCK_LENGTH, MessageId, type WireEvent, type WireFeatures, type WireViolation } from "./types.js";

/** Length prefix of a piece message carrying a full block: id + index + begin + 16 KiB. */
export const MAX_PIECE_MESSAGE_LENGTH = 9 + BLOCK_LENGTH;

/**
 * Default ceiling on an extended message's length prefix. The largest legitimate one is
 * a BEP 9 metadata piece (16 KiB plus a ~60-byte dictionary); pex and handshakes are a
 * few KiB at most. 64 KiB leaves room for clients that send more, and no more than that.
 */
export const DEFAULT_MAX_EXTENDED_LENGTH = 64 * 1024;

/** Before the metadata is known, a bitfield may be as long as the largest torrent allows. */
const MAX_BITFIELD_LENGTH_UNKNOWN = MAX_PIECE_COUNT / 8;

/** What a decoder checks frames against; the geometry arrives later for a magnet link. */
export interface FrameRules {
  readonly features: WireFeatures;
  readonly geometry: TorrentGeometry | undefined;
  readonly maxExtendedLength: number;
}

/** The longest length prefix any message may carry under these rules. */
export function maxFrameLength(rules: FrameRules): number {
  const bitfield = 1 + (rules.geometry?.bitfieldLength ?? MAX_BITFIELD_LENGTH_UNKNOWN);
  const extended = rules.features.extended ? rules.maxExtendedLength : 0;
  return Math.max(MAX_PIECE_MESSAGE_LENGTH, bitfield, extended);
}

const FIXED_LENGTH_NAMES: readonly (readonly [id: number, length: number, name: string])[] = [
  [MessageId.choke, 1, "choke"],
  [MessageId.unchoke, 1, "unchoke"],
  [MessageId.interested, 1, "interested"],
  [MessageId.notInterested, 1, "not interested"],
  [MessageId.have, 5, "have"],
  [MessageId.request, 13, "request"],
  [MessageId.cancel, 13, "cancel"],
  [MessageId.port, 3, "port"],
  [MessageId.suggest, 5, "suggest"],
  [MessageId.haveAll, 1, "have all"],
  [MessageId.haveNone, 1, "have none"],
  [MessageId.reject, 13, "reject"],
  [MessageId.allowedFast, 5, "allowed fast"],
];

/** Length prefix of each fixed-size message by id; 0 where the id is not fixed-size. */
const FIXED_LENGTH = new Uint8Array(256);
const NAME: string[] = [];
for (const [id, length, name] of FIXED_LENGTH_NAMES) {
  FIXED_LENGTH[id] = length;
  NAME[id] = name;
}
NAME[MessageId.bitfield] = "bitfield";
NAME[MessageId.piece] = "piece";
NAME[MessageId.extended] = "extended";

function isFastId(id: number): boolean {
  return id >= MessageId.suggest && id <= MessageId.allowedFast;
}

function violation(reason: WireViolation["reason"], detail: string): WireViolation {
  return { type: "violation", reason, detail };
}

/** Why a frame with this length prefix and id must be refused before reading its payload. */
export function frameViolation(id: number, length: number, rules: FrameRules): WireViolation | undefined {
  const name = NAME[id];
  if (name === undefined) return violation("unknownMessageId", `message id ${id} (length ${length})`);
  if ((isFastId(id) && !rules.features.fast) || (id === MessageId.extended && !rules.features.extended)) {
    return violation("notNegotiated", `${name} (id ${id}) but the handshake did not agree on it`);
  }
  const fixed = FIXED_LENGTH[id] ?? 0;
  if (fixed !== 0) {
    return length === fixed ? undefined : violation("badLength", `${name} with length ${length}, expected ${fixed}`);
  }
  if (id === MessageId.piece) {
    if (length > MAX_PIECE_MESSAGE_LENGTH) {
      return violation("oversizedLength", `piece with length ${length} > ${MAX_PIECE_MESSAGE_LENGTH}`);
    }
    return length > 9 ? undefined : violation("badLength", `piece with length ${length}, no block`);
  }
  if (id === MessageId.bitfield) {
    const g = rules.geometry;
    if (g === undefined) {
      if (length - 1 <= MAX_BITFIELD_LENGTH_UNKNOWN) return undefined;
      return violation("oversizedLength", `bitfield of ${length - 1} bytes > ${MAX_BITFIELD_LENGTH_UNKNOWN}`);
    }
    if (length - 1 === g.bitfieldLength) return undefined;
    return violation(
      "badBitfieldLength",
      `bitfield of ${length - 1} bytes, ${g.pieceCount} pieces need ${g.bitfieldLength}`,
    );
  }
  // extended
  if (length > rules.maxExtendedLength) {
    return violation("oversizedLength", `extended message with length ${length} > ${rules.maxExtendedLength}`);
  }
  return length >= 2 ? undefined : violation("badLength", "extended message without an extended id");
}

/** A piece message, or why its block does not fit the torrent. */
export function pieceEvent(index: number, begin: number, block: Buffer, rules: FrameRules): WireEvent {
  return (
    spanViolation("piece", index, begin, block.length, rules.geometry) ?? { type: "piece", index, begin, block }
  );
}

const CHOKE: WireEvent = Object.freeze({ type: "choke" });
const UNCHOKE: WireEvent = Object.freeze({ type: "unchoke" });
const INTERESTED: WireEvent = Object.freeze({ type: "interested" });
const NOT_INTERESTED: WireEvent = Object.freeze({ type: "notInterested" });
const HAVE_ALL: WireEvent = Object.freeze({ type: "haveAll" });
const HAVE_NONE: WireEvent = Object.freeze({ type: "haveNone" });
export const KEEP_ALIVE: WireEvent = Object.freeze({ type: "keepAlive" });

/**
 * The message in `buf[start, end)`, the payload after the id byte, of a frame that passed
 * `frameViolation`. Slices of `buf` are handed out, never copied.
 */
export function decodePayload(id: number, buf: Buffer, start: number, end: number, rules: FrameRules): WireEvent {
  const g = rules.geometry;
  switch (id) {
    case MessageId.choke:
      return CHOKE;
    case MessageId.unchoke:
      return UNCHOKE;
    case MessageId.interested:
      return INTERESTED;
    case MessageId.notInterested:
      return NOT_INTERESTED;
    case MessageId.haveAll:
      return HAVE_ALL;
    case MessageId.haveNone:
      return HAVE_NONE;
    case MessageId.have:
    case MessageId.suggest:
    case MessageId.allowedFast: {
      const index = buf.readUInt32BE(start);
      const type = id === MessageId.have ? "have" : id === MessageId.suggest ? "suggest" : "allowedFast";
      return indexViolation(type, index, g) ?? { type, index };
    }
    case MessageId.request:
    case MessageId.cancel:
    case MessageId.reject: {
      const index = buf.readUInt32BE(start);
      const begin = buf.readUInt32BE(start + 4);
      const length = buf.readUInt32BE(start + 8);
      const type = id === MessageId.request ? "request" : id === MessageId.cancel ? "cancel" : "reject";
      return requestViolation(type, index, begin, length, g) ?? { type, index, begin, length };
    }
    case MessageId.piece:
      return pieceEvent(buf.readUInt32BE(start), buf.readUInt32BE(start + 4), buf.subarray(start + 8, end), rules);
    case MessageId.port:
      return { type: "port", port: buf.readUInt16BE(start) };
    case MessageId.bitfield: {
      const bits = buf.subarray(start, end);
      return (g === undefined ? undefined : bitfieldViolation(g.pieceCount, bits)) ?? { type: "bitfield", bits };
    }
    case MessageId.extended: {
      const extId = buf[start] ?? 0;
      const payload = buf.subarray(start + 1, end);
      if (extId !== 0) return { type: "extended", extId, payload };
      const handshake = parseExtendedHandshake(payload);
      return handshake.type === "violation" ? handshake : { type: "extendedHandshake", handshake: handshake.value };
    }
    default:
      // frameViolation admits no other id; reaching here is a bug in this module.
      throw new Error(`wire: decodePayload reached with unchecked id ${id}`);
  }
}
