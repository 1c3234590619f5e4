/**
 * Incremental peer-wire decoder: `push` the socket's chunks as they come, `next` pulls one
 * message at a time (so an actor can stop after its turn's budget and resume later).
 *
 * What it guarantees:
 * - The same messages for the same bytes, however TCP cut them into chunks.
 * - Limits before memory: a frame's length prefix and id are checked (`frameViolation`)
 *   before a byte of its payload is buffered, and a piece's index and offset before its
 *   block is allocated. The decoder itself never holds more than the one frame it is
 *   assembling (`bufferedBytes` <= that frame's length prefix + 4 <= `maxFrameLength` + 4);
 *   chunks pushed and not yet read stay the caller's memory (`pendingBytes`), so drain
 *   after each push.
 * - Zero-copy: a message that lies inside one chunk is decoded in place; its block,
 *   bitfield or extended payload is a `subarray` of that chunk. A frame that spans chunks
 *   is copied once, into a buffer of exactly its payload's length (for a piece: its
 *   block's length). Chunks are kept as a list, never concatenated.
 * - The first violation is returned once by `next` and ends the stream: afterwards `next`
 *   returns undefined, `push` drops its input, and `violation` tells why.
 */

import { MessageId, WireUsageError, type TorrentContext, type WireEvent, type WireFeatures, type WireViolation } from "./types.js";
import {
  decodePayload,
  DEFAULT_MAX_EXTENDED_LENGTH,
  frameViolation,
  KEEP_ALIVE,
  maxFrameLength,
  pieceEvent,
  type FrameRules,
} from "./frame.js";
import { spanViolation, torrentGeometry } from "./geometry.js";

export interface WireDecoderOptions {
  /** What both handshakes agreed on (`commonFeatures`). */
  readonly features: WireFeatures;
  /** The torrent's shape; omit it until a magnet link's metadata arrives (`setTorrentContext`). */
  readonly context?: TorrentContext | undefined;
  /** Ceiling on an extended message's length prefix (default `DEFAULT_MAX_EXTENDED_LENGTH`). */
  readonly maxExtendedLength?: number | undefined;
}

const EMPTY = Buffer.alloc(0);

/** Bytes of a frame that precede what gets buffered whole: length + id (+ index + begin for a piece). */
const LENGTH_BYTES = 4;
const ID_BYTES = 5;
const PIECE_HEAD_BYTES = 13;

export class WireDecoder {
  private rules: FrameRules;
  private frameMax: number;

  /** The chunk being read, and the ones pushed after it. */
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private readonly queue: Buffer[] = [];
  private queueHead = 0;
  private queuedBytes = 0;

  /** A frame that spans chunks: its head is gathered here, then its payload in `body`. */
  private readonly head = Buffer.alloc(PIECE_HEAD_BYTES);
  private headFill = 0;
  /** How many head bytes the current partial frame needs next; 0 when there is none. */
  private headNeed = 0;
  private frameLength = 0;
  private frameId = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;

  private dead: WireViolation | undefined;

  constructor(options: WireDecoderOptions) {
    const maxExtendedLength = options.maxExtendedLength ?? DEFAULT_MAX_EXTENDED_LENGTH;
    if (!Number.isSafeInteger(maxExtendedLength) || maxExtendedLength < 2) {
      throw new WireUsageError(`maxExtendedLength must be an integer >= 2, got ${maxExtendedLength}`);
    }
    this.rules = {
      features: options.features,
      geometry: options.context === undefined ? undefined : torrentGeometry(options.context),
      maxExtendedLength,
    };
    this.frameMax = maxFrameLength(this.rules);
  }

  /** The metadata arrived: from now on indices, offsets and the bitfield are checked against it. */
  setTorrentContext(context: TorrentContext): void {
    this.rules = { ...this.rules, geometry: torrentGeometry(context) };
    this.frameMax = maxFrameLength(this.rules);
  }

  /** The longest length prefix accepted under the current rules. */
  get maxFrameLength(): number {
    return this.frameMax;
  }

  /** Why the stream ended, once it has. */
  get violation(): WireViolation | undefined {
    return this.dead;
  }

  /** Bytes the decoder itself holds for a frame that spans chunks (allocated, not only filled). */
  get bufferedBytes(): number {
    return this.headFill + (this.body?.length ?? 0);
  }

  /** Bytes pushed and not yet read (the chunks are referenced, not copied). */
  get pendingBytes(): number {
    return this.chunk.length - this.pos + this.queuedBytes;
  }

  push(chunk: Buffer): void {
    if (this.dead !== undefined || chunk.length === 0) return;
    if (this.pos === this.chunk.length && this.queueHead === this.queue.length) {
      this.chunk = chunk;
      this.pos = 0;
    } else {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
    }
  }

  /** The next message, the violation that ends the stream, or undefined until more bytes come. */
  next(): WireEvent | undefined {
    if (this.dead !== undefined) return undefined;
    if (this.headNeed === 0) {
      let avail = this.chunk.length - this.pos;
      while (avail === 0) {
        if (!this.advance()) return undefined;
        avail = this.chunk.length - this.pos;
      }
      // Fast path: the whole frame is in this chunk; decode it where it lies.
      if (avail >= LENGTH_BYTES) {
        const c = this.chunk;
        const p = this.pos;
        const length = c.readUInt32BE(p);
        if (length === 0) {
          this.pos = p + LENGTH_BYTES;
          return KEEP_ALIVE;
        }
        if (avail >= LENGTH_BYTES + length) {
          const id = c[p + LENGTH_BYTES] ?? 0;
          const bad = frameViolation(id, length, this.rules);
          if (bad !== undefined) return this.die(bad);
          this.pos = p + LENGTH_BYTES + length;
          return this.emit(decodePayload(id, c, p + ID_BYTES, this.pos, this.rules));
        }
      }
    }
    return this.assemble();
  }

  /** The slow path: gather a frame that spans chunks, checking each part as soon as it is whole. */
  private assemble(): WireEvent | undefined {
    if (this.headNeed === 0) {
      this.headNeed = LENGTH_BYTES;
      this.headFill = 0;
    }
    for (;;) {
      if (this.headFill < this.headNeed) {
        this.headFill += this.take(this.head, this.headFill, this.headNeed - this.headFill);
        if (this.headFill < this.headNeed) return undefined;
      }
      if (this.body === undefined) {
        const bad = this.headComplete();
        if (bad !== undefined) return this.die(bad);
        if (this.frameLength === 0) {
          this.headNeed = 0;
          this.headFill = 0;
          return KEEP_ALIVE;
        }
        if (this.body === undefined) continue; // more head bytes needed
      }
      this.bodyFill += this.take(this.body, this.bodyFill, this.body.length - this.bodyFill);
      if (this.bodyFill < this.body.length) return undefined;
      const body = this.body;
      this.body = undefined;
      this.headNeed = 0;
      this.headFill = 0;
      this.bodyFill = 0;
      const event =
        this.frameId === MessageId.piece
          ? pieceEvent(this.head.readUInt32BE(ID_BYTES), this.head.readUInt32BE(ID_BYTES + 4), body, this.rules)
          : decodePayload(this.frameId, body, 0, body.length, this.rules);
      return this.emit(event);
    }
  }

  /**
   * `headNeed` bytes of head are in: check them, then ask for the next part of the head or
   * allocate the body. Returns the violation, if any.
   */
  private headComplete(): WireViolation | undefined {
    switch (this.headNeed) {
      case LENGTH_BYTES: {
        const length = this.head.readUInt32BE(0);
        this.frameLength = length;
        if (length > this.frameMax) {
          return { type: "violation", reason: "oversizedLength", detail: `length prefix ${length} > ${this.frameMax}` };
        }
        if (length !== 0) this.headNeed = ID_BYTES;
        return undefined;
      }
      case ID_BYTES: {
        const id = this.head[LENGTH_BYTES] ?? 0;
        this.frameId = id;
        const bad = frameViolation(id, this.frameLength, this.rules);
        if (bad !== undefined) return bad;
        if (id === MessageId.piece) this.headNeed = PIECE_HEAD_BYTES;
        else this.body = this.frameLength === 1 ? EMPTY : Buffer.allocUnsafe(this.frameLength - 1);
        return undefined;
      }
      default: {
        const blockLength = this.frameLength - (PIECE_HEAD_BYTES - LENGTH_BYTES);
        const index = this.head.readUInt32BE(ID_BYTES);
        const begin = this.head.readUInt32BE(ID_BYTES + 4);
        const bad = spanViolation("piece", index, begin, blockLength, this.rules.geometry);
        if (bad !== undefined) return bad;
        this.body = Buffer.allocUnsafe(blockLength);
        return undefined;
      }
    }
  }

  /** Copy up to `n` unread bytes into `dst` at `at`, moving through queued chunks. */
  private take(dst: Buffer, at: number, n: number): number {
    let copied = 0;
    while (copied < n) {
      let avail = this.chunk.length - this.pos;
      if (avail === 0) {
        if (!this.advance()) break;
        avail = this.chunk.length - this.pos;
      }
      const k = Math.min(avail, n - copied);
      this.chunk.copy(dst, at + copied, this.pos, this.pos + k);
      this.pos += k;
      copied += k;
    }
    return copied;
  }

  /** Move to the next queued chunk; false (and the spent chunk released) when there is none. */
  private advance(): boolean {
    const next = this.queue[this.queueHead];
    if (next === undefined) {
      this.chunk = EMPTY;
      this.pos = 0;
      this.queue.length = 0;
      this.queueHead = 0;
      return false;
    }
    this.queue[this.queueHead++] = EMPTY;
    this.queuedBytes -= next.length;
    if (this.queueHead >= 64 && this.queueHead * 2 >= this.queue.length) {
      // A caller that never drains fully would otherwise grow the list without end.
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.chunk = next;
    this.pos = 0;
    return true;
  }

  private emit(event: WireEvent): WireEvent {
    return event.type === "violation" ? this.die(event) : event;
  }

  private die(v: WireViolation): WireViolation {
    this.dead = v;
    this.chunk = EMPTY;
    this.pos = 0;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.body = undefined;
    this.headNeed = 0;
    this.headFill = 0;
    return v;
  }
}
