/**
 * The BitTorrent handshake: 19, "BitTorrent protocol", 8 reserved bytes, the 20-byte
 * info-hash, the 20-byte peer id (68 bytes).
 *
 * The parser checks the protocol string byte by byte as bytes arrive, so a peer that
 * speaks something else (HTTP, an encrypted stream, noise) is refused at its first wrong
 * byte rather than after 68 bytes. It holds at most 68 bytes; what follows the handshake
 * in the last chunk is returned untouched (`rest`), for the message decoder.
 */

import { WireUsageError, type WireFeatures, type WireViolation } from "./types.js";

export const HANDSHAKE_LENGTH = 68;

const PROTOCOL = Buffer.from("\x13BitTorrent protocol", "latin1");
const RESERVED_AT = 20;
const INFO_HASH_AT = 28;
const PEER_ID_AT = 48;

/** The reserved bits we read: reserved[5] & 0x10 (BEP 10), reserved[7] & 0x04 (BEP 6), reserved[7] & 0x01 (BEP 5). */
export interface HandshakeFlags {
  readonly extended: boolean;
  readonly fast: boolean;
  readonly dht: boolean;
}

export interface HandshakeFields extends HandshakeFlags {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
}

export interface Handshake extends HandshakeFields {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  /** All 8 reserved bytes as sent, for bits we do not decode. */
  readonly reserved: Buffer;
}

export type HandshakeStep =
  | { readonly type: "needMore"; readonly received: number }
  /** `rest` is what followed the handshake in the final chunk (possibly empty). */
  | { readonly type: "handshake"; readonly handshake: Handshake; readonly rest: Buffer }
  | WireViolation;

/** The features a connection may use: those both ends announced. */
export function commonFeatures(ours: HandshakeFlags, theirs: HandshakeFlags): WireFeatures {
  return { fast: ours.fast && theirs.fast, extended: ours.extended && theirs.extended };
}

export function writeHandshake(target: Buffer, offset: number, fields: HandshakeFields): number {
  if (fields.infoHash.length !== 20 || fields.peerId.length !== 20) {
    throw new WireUsageError(
      `handshake needs a 20-byte info-hash and peer id, got ${fields.infoHash.length} and ${fields.peerId.length}`,
    );
  }
  PROTOCOL.copy(target, offset);
  target.fill(0, offset + RESERVED_AT, offset + INFO_HASH_AT);
  if (fields.extended) target[offset + RESERVED_AT + 5] = 0x10;
  target[offset + RESERVED_AT + 7] = (fields.fast ? 0x04 : 0) | (fields.dht ? 0x01 : 0);
  target.set(fields.infoHash, offset + INFO_HASH_AT);
  target.set(fields.peerId, offset + PEER_ID_AT);
  return offset + HANDSHAKE_LENGTH;
}

export function encodeHandshake(fields: HandshakeFields): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_LENGTH);
  writeHandshake(out, 0, fields);
  return out;
}

function describeByte(b: number): string {
  const printable = b >= 0x20 && b < 0x7f ? ` '${String.fromCharCode(b)}'` : "";
  return `0x${b.toString(16).padStart(2, "0")}${printable}`;
}

export class HandshakeParser {
  private readonly bytes = Buffer.alloc(HANDSHAKE_LENGTH);
  private received = 0;
  private final: Exclude<HandshakeStep, { type: "needMore" }> | undefined;

  /** The info-hash, as soon as its 48 bytes are in (a listener routes on it before the peer id). */
  get infoHash(): Buffer | undefined {
    return this.received >= PEER_ID_AT ? this.bytes.subarray(INFO_HASH_AT, PEER_ID_AT) : undefined;
  }

  push(chunk: Buffer): HandshakeStep {
    if (this.final !== undefined) {
      if (this.final.type === "violation") return this.final;
      throw new WireUsageError("HandshakeParser.push after the handshake completed: feed the message decoder");
    }
    const start = this.received;
    const k = Math.min(chunk.length, HANDSHAKE_LENGTH - start);
    chunk.copy(this.bytes, start, 0, k);
    this.received = start + k;
    for (let i = start; i < Math.min(this.received, PROTOCOL.length); i++) {
      const got = this.bytes[i] ?? 0;
      if (got !== PROTOCOL[i]) {
        this.final = {
          type: "violation",
          reason: "badProtocolString",
          detail:
            i === 0
              ? `first byte ${describeByte(got)}, not 19 (not a BitTorrent handshake)`
              : `byte ${i} of the protocol string is ${describeByte(got)}, expected ${describeByte(PROTOCOL[i] ?? 0)}`,
        };
        return this.final;
      }
    }
    if (this.received < HANDSHAKE_LENGTH) return { type: "needMore", received: this.received };
    const b = this.bytes;
    const reserved = b.subarray(RESERVED_AT, INFO_HASH_AT);
    this.final = {
      type: "handshake",
      handshake: {
        reserved,
        extended: ((reserved[5] ?? 0) & 0x10) !== 0,
        fast: ((reserved[7] ?? 0) & 0x04) !== 0,
        dht: ((reserved[7] ?? 0) & 0x01) !== 0,
        infoHash: b.subarray(INFO_HASH_AT, PEER_ID_AT),
        peerId: b.subarray(PEER_ID_AT, HANDSHAKE_LENGTH),
      },
      rest: chunk.subarray(k),
    };
    return this.final;
  }
}
