/**
 * A set of piece indices stored in the wire's bitfield layout (BEP 3: the high bit of
 * byte 0 is piece 0), so it is sent and received without conversion.
 *
 * Guarantees: the spare bits past `pieceCount` in the last byte are always zero (a
 * bitfield built from peer bytes is refused if they are not), so `bytes` is a valid
 * bitfield payload as it stands; `count` is exact and O(1).
 */

import type { WireViolation } from "./types.js";

/** Set bits per byte value: counting a peer's bitfield is one lookup per byte. */
const POPCOUNT = new Uint8Array(256);
for (let v = 1; v < 256; v++) POPCOUNT[v] = (v & 1) + (POPCOUNT[v >> 1] ?? 0);

export function bitfieldByteLength(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

/** The bits of the last byte that must be zero (0 when pieceCount fills it). */
function spareMask(pieceCount: number): number {
  const used = pieceCount & 7;
  return used === 0 ? 0 : 0xff >> used;
}

/** Why `bytes` is not a bitfield for `pieceCount` pieces, or undefined when it is one. */
export function bitfieldViolation(pieceCount: number, bytes: Uint8Array): WireViolation | undefined {
  const expected = bitfieldByteLength(pieceCount);
  if (bytes.length !== expected) {
    return {
      type: "violation",
      reason: "badBitfieldLength",
      detail: `bitfield of ${bytes.length} bytes, ${pieceCount} pieces need ${expected}`,
    };
  }
  const last = expected === 0 ? 0 : (bytes[expected - 1] ?? 0);
  if ((last & spareMask(pieceCount)) !== 0) {
    return {
      type: "violation",
      reason: "spareBitsSet",
      detail: `bitfield sets bits past piece ${pieceCount - 1} (last byte 0x${last.toString(16)})`,
    };
  }
  return undefined;
}

export class Bitfield {
  readonly pieceCount: number;
  private readonly bits: Buffer;
  private setCount = 0;

  constructor(pieceCount: number) {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
      throw new RangeError(`Bitfield: pieceCount must be a non-negative integer, got ${pieceCount}`);
    }
    this.pieceCount = pieceCount;
    this.bits = Buffer.alloc(bitfieldByteLength(pieceCount));
  }

  /** Every piece set: a seed's bitfield. */
  static full(pieceCount: number): Bitfield {
    const b = new Bitfield(pieceCount);
    b.bits.fill(0xff);
    const mask = spareMask(pieceCount);
    if (mask !== 0) b.bits[b.bits.length - 1] = 0xff & ~mask;
    b.setCount = pieceCount;
    return b;
  }

  /** A copy of a peer's bitfield payload, or why it is not one for `pieceCount` pieces. */
  static fromBytes(pieceCount: number, bytes: Uint8Array): Bitfield | WireViolation {
    const b = new Bitfield(pieceCount);
    const bad = bitfieldViolation(pieceCount, bytes);
    if (bad !== undefined) return bad;
    b.bits.set(bytes);
    let n = 0;
    for (let i = 0; i < bytes.length; i++) n += POPCOUNT[bytes[i] ?? 0] ?? 0;
    b.setCount = n;
    return b;
  }

  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.pieceCount;
  }

  /** The payload of a bitfield message; a view, not a copy: do not mutate it. */
  get bytes(): Buffer {
    return this.bits;
  }

  has(index: number): boolean {
    this.check(index);
    return ((this.bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
  }

  set(index: number): void {
    this.check(index);
    const i = index >> 3;
    const bit = 0x80 >> (index & 7);
    const byte = this.bits[i] ?? 0;
    if ((byte & bit) === 0) {
      this.bits[i] = byte | bit;
      this.setCount++;
    }
  }

  clear(index: number): void {
    this.check(index);
    const i = index >> 3;
    const bit = 0x80 >> (index & 7);
    const byte = this.bits[i] ?? 0;
    if ((byte & bit) !== 0) {
      this.bits[i] = byte & ~bit;
      this.setCount--;
    }
  }

  /** The lowest unset index at or after `from`, or -1 when every one from there is set. */
  firstMissing(from = 0): number {
    return this.scan(from, (i) => ~(this.bits[i] ?? 0) & 0xff);
  }

  /** The lowest index that `other` has and this lacks (what makes a peer interesting), or -1. */
  firstMissingFrom(other: Bitfield, from = 0): number {
    if (other.pieceCount !== this.pieceCount) {
      throw new RangeError(`Bitfield: ${other.pieceCount} pieces compared with ${this.pieceCount}`);
    }
    return this.scan(from, (i) => (other.bits[i] ?? 0) & ~(this.bits[i] ?? 0) & 0xff);
  }

  /** The set indices in ascending order. */
  *indices(): Generator<number, void, undefined> {
    for (let i = 0; i < this.bits.length; i++) {
      const byte = this.bits[i] ?? 0;
      if (byte === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if ((byte & (0x80 >> bit)) !== 0) yield i * 8 + bit;
      }
    }
  }

  clone(): Bitfield {
    const b = new Bitfield(this.pieceCount);
    this.bits.copy(b.bits);
    b.setCount = this.setCount;
    return b;
  }

  /**
   * Byte-at-a-time search: `candidates(i)` gives the bits of byte i worth reporting; spare
   * bits are masked off so a hit is always a real piece.
   */
  private scan(from: number, candidates: (byteIndex: number) => number): number {
    if (from < 0 || !Number.isInteger(from)) throw new RangeError(`Bitfield: bad start ${from}`);
    if (from >= this.pieceCount) return -1;
    const lastByte = this.bits.length - 1;
    const spare = spareMask(this.pieceCount);
    let i = from >> 3;
    let byte = candidates(i) & (0xff >> (from & 7));
    for (;;) {
      if (i === lastByte) byte &= ~spare;
      if (byte !== 0) return i * 8 + Math.clz32(byte) - 24;
      i++;
      if (i > lastByte) return -1;
      byte = candidates(i);
    }
  }

  private check(index: number): void {
    if (!(index >= 0 && index < this.pieceCount && Number.isInteger(index))) {
      throw new RangeError(`Bitfield: index ${index} outside 0..${this.pieceCount - 1}`);
    }
  }
}
