/**
 * Sets of block requests for one link: ours to the peer (outstanding) and theirs to us
 * (the upload queue). A request is keyed by its byte offset in the torrent
 * (index x pieceLength + begin), so a lookup is one Map probe with a number key and no
 * string built per block; the Map keeps insertion order, which makes the set a FIFO too.
 *
 * Guarantees: at most one request per (index, begin); `lengthAt` says which length it has,
 * so a block or a cancel matches only the exact request; an UploadQueue never holds more
 * than its bound (adding past it is a bug in the caller and throws).
 *
 * Callers pass requests already checked against the torrent (the analyzer does, through
 * the wire codec's `contextViolation`): begin < the piece's size keeps keys distinct.
 */

import type { BlockRequest } from "../pieceMgr/picker.js";
import { DEFAULT_UPLOAD_QUEUE_BOUND } from "./pipeline.js";

/** What the analyzer reads of a request set. */
export interface RequestLookup {
  readonly size: number;
  /** The length of the request at (index, begin), or undefined when there is none. */
  lengthAt(index: number, begin: number): number | undefined;
  /** Every request, oldest first; a fresh array. */
  list(): BlockRequest[];
}

export interface UploadQueueView extends RequestLookup {
  /** The most requests queued at once: what we advertise as `reqq`. */
  readonly bound: number;
}

export class RequestSet implements RequestLookup {
  readonly pieceLength: number;
  private readonly lengths = new Map<number, number>();

  constructor(pieceLength: number) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
      throw new RangeError(`RequestSet: pieceLength must be a positive integer, got ${pieceLength}`);
    }
    this.pieceLength = pieceLength;
  }

  get size(): number {
    return this.lengths.size;
  }

  lengthAt(index: number, begin: number): number | undefined {
    return this.lengths.get(index * this.pieceLength + begin);
  }

  /** Adds the request; false (and no change) when one already sits at (index, begin). */
  add(index: number, begin: number, length: number): boolean {
    const key = index * this.pieceLength + begin;
    if (this.lengths.has(key)) return false;
    this.lengths.set(key, length);
    return true;
  }

  /** Removes the request if it is there with this length; false otherwise. */
  delete(index: number, begin: number, length: number): boolean {
    const key = index * this.pieceLength + begin;
    if (this.lengths.get(key) !== length) return false;
    this.lengths.delete(key);
    return true;
  }

  /** The oldest request, left in place; undefined when empty. */
  first(): BlockRequest | undefined {
    const oldest = this.oldest();
    return oldest === undefined ? undefined : this.toRequest(oldest[0], oldest[1]);
  }

  /** The oldest request, removed; undefined when empty. */
  shift(): BlockRequest | undefined {
    const oldest = this.oldest();
    if (oldest === undefined) return undefined;
    this.lengths.delete(oldest[0]);
    return this.toRequest(oldest[0], oldest[1]);
  }

  private oldest(): [key: number, length: number] | undefined {
    const first = this.lengths.entries().next();
    return first.done === true ? undefined : first.value;
  }

  list(): BlockRequest[] {
    const out: BlockRequest[] = [];
    for (const [key, length] of this.lengths) out.push(this.toRequest(key, length));
    return out;
  }

  clear(): void {
    this.lengths.clear();
  }

  private toRequest(key: number, length: number): BlockRequest {
    const piece = Math.floor(key / this.pieceLength);
    return { piece, begin: key - piece * this.pieceLength, length };
  }
}

/** The peer's requests we accepted and have not served yet, never more than `bound`. */
export class UploadQueue extends RequestSet implements UploadQueueView {
  readonly bound: number;

  constructor(pieceLength: number, bound = DEFAULT_UPLOAD_QUEUE_BOUND) {
    super(pieceLength);
    if (!Number.isSafeInteger(bound) || bound < 1) {
      throw new RangeError(`UploadQueue: bound must be a positive integer, got ${bound}`);
    }
    this.bound = bound;
  }

  override add(index: number, begin: number, length: number): boolean {
    if (this.size >= this.bound && this.lengthAt(index, begin) === undefined) {
      throw new RangeError(`UploadQueue: full (${this.bound}); the analyzer should have refused this request`);
    }
    return super.add(index, begin, length);
  }
}
