/**
 * Message encoders that write into a caller's buffer at an offset and return the offset
 * after what they wrote, so a batch (64 requests, a have per peer) is one allocation and
 * one socket write. A piece is sent as its 13-byte header followed by the block itself
 * (writev / cork): the block is never copied into a frame.
 *
 * Arguments come from our own state, not from peers: a value out of range is a bug and
 * throws (Node's RangeError from the write, or WireUsageError).
 */

import type { Bitfield } from "./bitfield.js";
import { encodeExtendedHandshakePayload } from "./extendedHandshake.js";
import { MessageId, WireUsageError, type WireMessage } from "./types.js";

export const KEEP_ALIVE_LENGTH = 4;
export const HAVE_MESSAGE_LENGTH = 9;
/** request, cancel and reject all take 17 bytes. */
export const REQUEST_MESSAGE_LENGTH = 17;
export const PIECE_HEADER_LENGTH = 13;

function writeHead(target: Buffer, offset: number, length: number, id: number): number {
  target.writeUInt32BE(length, offset);
  target[offset + 4] = id;
  return offset + 5;
}

function writeBlockRef(
  target: Buffer,
  offset: number,
  id: number,
  index: number,
  begin: number,
  length: number,
): number {
  const at = writeHead(target, offset, 13, id);
  target.writeUInt32BE(index, at);
  target.writeUInt32BE(begin, at + 4);
  target.writeUInt32BE(length, at + 8);
  return at + 12;
}

export function writeRequest(target: Buffer, offset: number, index: number, begin: number, length: number): number {
  return writeBlockRef(target, offset, MessageId.request, index, begin, length);
}

export function writeCancel(target: Buffer, offset: number, index: number, begin: number, length: number): number {
  return writeBlockRef(target, offset, MessageId.cancel, index, begin, length);
}

export function writeReject(target: Buffer, offset: number, index: number, begin: number, length: number): number {
  return writeBlockRef(target, offset, MessageId.reject, index, begin, length);
}

export function encodeRequest(index: number, begin: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(REQUEST_MESSAGE_LENGTH);
  writeRequest(out, 0, index, begin, length);
  return out;
}

function writeIndexMessage(target: Buffer, offset: number, id: number, index: number): number {
  const at = writeHead(target, offset, 5, id);
  target.writeUInt32BE(index, at);
  return at + 4;
}

export function writeHave(target: Buffer, offset: number, index: number): number {
  return writeIndexMessage(target, offset, MessageId.have, index);
}

/** The 13 bytes that precede a block of `blockLength` bytes in a piece message. */
export function writePieceHeader(
  target: Buffer,
  offset: number,
  index: number,
  begin: number,
  blockLength: number,
): number {
  const at = writeHead(target, offset, 9 + blockLength, MessageId.piece);
  target.writeUInt32BE(index, at);
  target.writeUInt32BE(begin, at + 4);
  return at + 8;
}

export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  const out = Buffer.allocUnsafe(PIECE_HEADER_LENGTH);
  writePieceHeader(out, 0, index, begin, blockLength);
  return out;
}

/** A bitfield message for `bits` (its spare bits are zero by construction). */
export function encodeBitfield(bits: Bitfield): Buffer {
  const payload = bits.bytes;
  const out = Buffer.allocUnsafe(5 + payload.length);
  writeHead(out, 0, 1 + payload.length, MessageId.bitfield);
  payload.copy(out, 5);
  return out;
}

/** An extended message (BEP 10) with the id the receiver announced for it. */
export function encodeExtended(extId: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(extId) || extId < 0 || extId > 255) {
    throw new WireUsageError(`extended message id ${extId} outside 0..255`);
  }
  const out = Buffer.allocUnsafe(6 + payload.length);
  writeHead(out, 0, 2 + payload.length, MessageId.extended);
  out[5] = extId;
  out.set(payload, 6);
  return out;
}

/** The messages that are only an id. */
export type BareMessageType = keyof typeof BARE_ID;

const BARE_ID = {
  choke: MessageId.choke,
  unchoke: MessageId.unchoke,
  interested: MessageId.interested,
  notInterested: MessageId.notInterested,
  haveAll: MessageId.haveAll,
  haveNone: MessageId.haveNone,
} as const;

/** choke, unchoke, interested, ...: 5 bytes, e.g. an `interested` ahead of a batch of requests. */
export function writeBareMessage(target: Buffer, offset: number, type: BareMessageType): number {
  return writeHead(target, offset, 1, BARE_ID[type]);
}

const INDEX_ID = { have: MessageId.have, suggest: MessageId.suggest, allowedFast: MessageId.allowedFast } as const;
const BLOCK_REF_ID = { request: MessageId.request, cancel: MessageId.cancel, reject: MessageId.reject } as const;

/** Any message as one buffer; convenient off the hot path (a piece's block is copied here). */
export function encodeMessage(msg: WireMessage): Buffer {
  switch (msg.type) {
    case "keepAlive":
      return Buffer.alloc(KEEP_ALIVE_LENGTH);
    case "choke":
    case "unchoke":
    case "interested":
    case "notInterested":
    case "haveAll":
    case "haveNone": {
      const out = Buffer.allocUnsafe(5);
      writeBareMessage(out, 0, msg.type);
      return out;
    }
    case "have":
    case "suggest":
    case "allowedFast": {
      const out = Buffer.allocUnsafe(HAVE_MESSAGE_LENGTH);
      writeIndexMessage(out, 0, INDEX_ID[msg.type], msg.index);
      return out;
    }
    case "request":
    case "cancel":
    case "reject": {
      const out = Buffer.allocUnsafe(REQUEST_MESSAGE_LENGTH);
      writeBlockRef(out, 0, BLOCK_REF_ID[msg.type], msg.index, msg.begin, msg.length);
      return out;
    }
    case "piece":
      return Buffer.concat([encodePieceHeader(msg.index, msg.begin, msg.block.length), msg.block]);
    case "bitfield": {
      const out = Buffer.allocUnsafe(5 + msg.bits.length);
      writeHead(out, 0, 1 + msg.bits.length, MessageId.bitfield);
      msg.bits.copy(out, 5);
      return out;
    }
    case "port": {
      const out = Buffer.allocUnsafe(7);
      writeHead(out, 0, 3, MessageId.port);
      out.writeUInt16BE(msg.port, 5);
      return out;
    }
    case "extended":
      return encodeExtended(msg.extId, msg.payload);
    case "extendedHandshake":
      return encodeExtended(0, encodeExtendedHandshakePayload(msg.handshake));
    default: {
      const unreachable: never = msg;
      throw new WireUsageError(`cannot encode ${JSON.stringify(unreachable)}`);
    }
  }
}
