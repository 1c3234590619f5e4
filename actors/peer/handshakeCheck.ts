/**
 * Judging the peer's handshake, and what we say first once it is accepted. Pure: the peer
 * actor executes the verdicts.
 *
 * - A handshake is refused for the wrong info-hash (an outgoing connection reached a peer
 *   serving something else), our own peer id (we dialled ourselves, e.g. through a
 *   tracker listing our address), or a host the piece manager banned for bad data.
 * - Our first message is the most compact statement of our pieces the peer understands: with
 *   the fast extension (BEP 6) have-all or have-none when they are exact, else the
 *   bitfield; without it, nothing when we have nothing (BEP 3 allows skipping the
 *   bitfield), else the bitfield.
 */
import type { Bitfield, Handshake, WireFeatures } from "../../src/protocol/wire/index.js";
import { commonFeatures, type HandshakeFlags } from "../../src/protocol/wire/index.js";

/** What we announce in our handshake's reserved bytes. */
export const OUR_FLAGS: HandshakeFlags = { extended: true, fast: true, dht: false };

/** Our `v` in every BEP 10 extended handshake. */
export const CLIENT_NAME = "swarmsup 0.1.0";

export type HandshakeRefusal = "wrongInfoHash" | "self" | "banned";

export type HandshakeVerdict =
  | { readonly kind: "accept"; readonly features: WireFeatures }
  | { readonly kind: "refuse"; readonly why: HandshakeRefusal; readonly detail: string };

export interface HandshakeExpectations {
  readonly infoHash: Buffer;
  readonly ourPeerId: Buffer;
  readonly host: string;
  readonly banned: ReadonlySet<string>;
}

export function judgeHandshake(theirs: Handshake, expect: HandshakeExpectations): HandshakeVerdict {
  if (!theirs.infoHash.equals(expect.infoHash)) {
    return { kind: "refuse", why: "wrongInfoHash", detail: `info-hash ${theirs.infoHash.toString("hex")}` };
  }
  if (theirs.peerId.equals(expect.ourPeerId)) return { kind: "refuse", why: "self", detail: "our own peer id" };
  if (expect.banned.has(expect.host)) return { kind: "refuse", why: "banned", detail: `host ${expect.host} is banned` };
  return { kind: "accept", features: commonFeatures(OUR_FLAGS, theirs) };
}

export type FirstMessage =
  | { readonly kind: "haveAll" }
  | { readonly kind: "haveNone" }
  | { readonly kind: "bitfield"; readonly bits: Bitfield }
  | { readonly kind: "nothing" };

export function firstMessage(have: Bitfield, features: WireFeatures): FirstMessage {
  if (features.fast) {
    if (have.complete) return { kind: "haveAll" };
    if (have.count === 0) return { kind: "haveNone" };
    return { kind: "bitfield", bits: have };
  }
  return have.count === 0 ? { kind: "nothing" } : { kind: "bitfield", bits: have };
}
