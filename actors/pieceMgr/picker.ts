/**
 * The piece manager's pure core: which block to ask which peer for, and what an arriving
 * block means. No I/O, no actors: the pieceMgr actor owns one PiecePicker and turns its
 * verdicts into effects (requests, cancels, hashing, writes).
 *
 * What it guarantees:
 * - A block is reserved by at most one peer outside endgame; in endgame (every missing
 *   block is already reserved) a block may be reserved by several, and the arrival of it
 *   names the other reservers so they get a CANCEL.
 * - Partial pieces are finished before new ones are started, a peer's own first; a new
 *   piece is the rarest among the peer's pieces (fewest peers having it), ties broken at
 *   random. A piece another peer is still fetching is joined only when the peer can start
 *   no new one (piece affinity, as libtorrent's): blocks of one piece then come in order
 *   from one link, so piece_mgr hashes each as it arrives, while it is in cache, instead
 *   of holding blocks that overtook a slower link's.
 * - At most `maxPiecesInFlight` pieces are started and not yet verified, so the bytes
 *   buffered for assembly stay under maxPiecesInFlight x pieceLength.
 * - A peer that leaves (`peerGone`) returns every block it had reserved at once.
 * - `pieceFailed` returns a piece to "not started"; `pieceDone` marks it have. Nothing
 *   else marks a piece have: the caller calls pieceDone only after hash and write.
 *
 * Cost: picking a new piece scans the pieces (O(pieceCount)); creation aims at 1-2 k
 * pieces, so this stays in the microseconds. Blocks of pieces already started are found
 * through the in-flight set, which is bounded by maxPiecesInFlight.
 */

import { BLOCK_SIZE } from "../../src/storage/layout.js";

export { BLOCK_SIZE };

/** A connection's address as `host:port` (the host is what a ban applies to). */
export type PeerKey = string;

export function hostOfPeer(peer: PeerKey): string {
  const colon = peer.lastIndexOf(":");
  return colon < 0 ? peer : peer.slice(0, colon);
}

export interface BlockRequest {
  readonly piece: number;
  readonly begin: number;
  readonly length: number;
}

export type BlockVerdict =
  /** The block was already received (an endgame double, or a peer repeating itself). */
  | { readonly kind: "duplicate"; readonly piece: number; readonly begin: number }
  /** Nobody asked this peer for this block (or the piece is already had). */
  | { readonly kind: "unrequested"; readonly piece: number; readonly begin: number; readonly from: PeerKey }
  /** Stored; `remaining` blocks of the piece still to come; `cancelFrom` also held it (endgame). */
  | {
      readonly kind: "stored";
      readonly piece: number;
      readonly begin: number;
      readonly remaining: number;
      readonly cancelFrom: readonly PeerKey[];
    }
  /** The last block of the piece: hash it now. */
  | {
      readonly kind: "pieceComplete";
      readonly piece: number;
      readonly begin: number;
      readonly contributors: readonly PeerKey[];
      readonly cancelFrom: readonly PeerKey[];
    };

/** What a peer can tell us it has; the wire bitfield satisfies it. */
export interface PieceSet {
  has(index: number): boolean;
}

export interface PickerOptions {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly maxPiecesInFlight: number;
  /** Uniform in [0, 1); injectable so tie-breaks are reproducible in tests and chaos replay. */
  readonly random?: () => number;
}

const enum BlockState {
  Free = 0,
  Requested = 1,
  Received = 2,
}

interface InFlightPiece {
  readonly blocks: Uint8Array; // BlockState per block
  /** Reservers per block; usually one, several in endgame. */
  readonly holders: (PeerKey[] | undefined)[];
  /** Who sent which block, so a hash failure can be blamed. */
  readonly senders: (PeerKey | undefined)[];
  received: number;
}

interface PeerEntry {
  has: PieceSet;
  /** Pieces the peer announced one by one (HAVE) on top of `has`. */
  readonly extra: Set<number>;
  /** Reserved blocks, as piece -> set of begins. */
  readonly reserved: Map<number, Set<number>>;
  reservedCount: number;
}

export class PiecePicker {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly maxPiecesInFlight: number;
  private readonly random: () => number;
  private readonly have: Uint8Array;
  private haveCount = 0;
  private readonly availability: Uint32Array;
  private readonly inFlight = new Map<number, InFlightPiece>();
  private readonly peers = new Map<PeerKey, PeerEntry>();

  constructor(opts: PickerOptions) {
    if (!Number.isInteger(opts.pieceCount) || opts.pieceCount < 0) throw new RangeError("pieceCount");
    if (!Number.isInteger(opts.pieceLength) || opts.pieceLength <= 0) throw new RangeError("pieceLength");
    if (!Number.isInteger(opts.maxPiecesInFlight) || opts.maxPiecesInFlight < 1) throw new RangeError("maxPiecesInFlight");
    const expected = opts.pieceCount === 0 ? 0 : Math.ceil(opts.totalLength / opts.pieceLength);
    if (expected !== opts.pieceCount) throw new RangeError("totalLength does not match pieceCount x pieceLength");
    this.pieceCount = opts.pieceCount;
    this.pieceLength = opts.pieceLength;
    this.totalLength = opts.totalLength;
    this.maxPiecesInFlight = opts.maxPiecesInFlight;
    this.random = opts.random ?? Math.random;
    this.have = new Uint8Array(opts.pieceCount);
    this.availability = new Uint32Array(opts.pieceCount);
  }

  pieceSize(index: number): number {
    return index === this.pieceCount - 1 ? this.totalLength - index * this.pieceLength : this.pieceLength;
  }

  blockCount(index: number): number {
    return Math.ceil(this.pieceSize(index) / BLOCK_SIZE);
  }

  hasPiece(index: number): boolean {
    return this.have[index] === 1;
  }

  get completed(): number {
    return this.haveCount;
  }

  get isComplete(): boolean {
    return this.haveCount === this.pieceCount;
  }

  get piecesInFlight(): number {
    return this.inFlight.size;
  }

  /** Pieces we have (from a recheck or resume) before any peer arrives. */
  markHave(index: number): void {
    this.checkIndex(index);
    if (this.have[index] === 1) return;
    this.dropInFlight(index);
    this.have[index] = 1;
    this.haveCount++;
  }

  // ---- peers -------------------------------------------------------------------------

  peerJoined(peer: PeerKey, has: PieceSet): void {
    if (this.peers.has(peer)) this.peerGone(peer);
    this.peers.set(peer, { has, extra: new Set(), reserved: new Map(), reservedCount: 0 });
    for (let i = 0; i < this.pieceCount; i++) if (has.has(i)) this.availability[i]!++;
  }

  /** A peer replaced its whole piece set (a late BITFIELD, or HAVE ALL). */
  peerBitfield(peer: PeerKey, has: PieceSet): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) return this.peerJoined(peer, has);
    for (let i = 0; i < this.pieceCount; i++) {
      const before = this.peerHasPiece(entry, i);
      const after = has.has(i);
      if (before && !after) this.availability[i]!--;
      else if (!before && after) this.availability[i]!++;
    }
    entry.has = has;
    entry.extra.clear();
  }

  peerHave(peer: PeerKey, index: number): void {
    this.checkIndex(index);
    const entry = this.peers.get(peer);
    if (entry === undefined || this.peerHasPiece(entry, index)) return;
    entry.extra.add(index);
    this.availability[index]!++;
  }

  /** The peer is gone: forget it and free its reservations. Returns how many blocks it held. */
  peerGone(peer: PeerKey): number {
    const entry = this.peers.get(peer);
    if (entry === undefined) return 0;
    for (let i = 0; i < this.pieceCount; i++) if (this.peerHasPiece(entry, i)) this.availability[i]!--;
    const released = entry.reservedCount;
    for (const [piece, begins] of entry.reserved) {
      const p = this.inFlight.get(piece);
      if (p === undefined) continue;
      for (const begin of begins) this.unreserve(p, begin / BLOCK_SIZE, peer);
    }
    this.peers.delete(peer);
    return released;
  }

  /** The peer choked us: its outstanding requests are void (BEP 3), give them to others. */
  peerChoked(peer: PeerKey): number {
    const entry = this.peers.get(peer);
    if (entry === undefined) return 0;
    const released = entry.reservedCount;
    for (const [piece, begins] of entry.reserved) {
      const p = this.inFlight.get(piece);
      if (p === undefined) continue;
      for (const begin of begins) this.unreserve(p, begin / BLOCK_SIZE, peer);
    }
    entry.reserved.clear();
    entry.reservedCount = 0;
    return released;
  }

  /** The peer rejected one request (BEP 6): release that block only. */
  requestRejected(peer: PeerKey, piece: number, begin: number): void {
    const entry = this.peers.get(peer);
    const p = this.inFlight.get(piece);
    if (entry === undefined || p === undefined) return;
    const begins = entry.reserved.get(piece);
    if (begins === undefined || !begins.delete(begin)) return;
    entry.reservedCount--;
    if (begins.size === 0) entry.reserved.delete(piece);
    this.unreserve(p, begin / BLOCK_SIZE, peer);
  }

  reservedBy(peer: PeerKey): number {
    return this.peers.get(peer)?.reservedCount ?? 0;
  }

  /** A piece the peer has and we still want, or undefined: drives INTERESTED. */
  wantedFrom(peer: PeerKey): number | undefined {
    const entry = this.peers.get(peer);
    if (entry === undefined) return undefined;
    for (let i = 0; i < this.pieceCount; i++) if (this.have[i] === 0 && this.peerHasPiece(entry, i)) return i;
    return undefined;
  }

  // ---- picking -----------------------------------------------------------------------

  /**
   * Reserve up to `max` blocks for `peer`, in this order: the rest of pieces it is
   * fetching; started pieces nobody is fetching (a peer left or was choked mid-piece); a
   * new rarest piece; pieces other peers are fetching; and (when nothing is free anywhere)
   * endgame duplicates.
   */
  pick(peer: PeerKey, max: number): BlockRequest[] {
    const entry = this.peers.get(peer);
    const out: BlockRequest[] = [];
    if (entry === undefined || max <= 0) return out;

    for (const piece of entry.reserved.keys()) {
      const p = this.inFlight.get(piece);
      if (p !== undefined) this.takeFree(entry, peer, piece, p, max, out);
      if (out.length >= max) return out;
    }
    this.takeStarted(entry, peer, max, out, "orphaned");
    while (out.length < max && this.inFlight.size < this.maxPiecesInFlight) {
      const piece = this.rarestNewPiece(entry);
      if (piece < 0) break;
      const p = this.startPiece(piece);
      this.takeFree(entry, peer, piece, p, max, out);
    }
    this.takeStarted(entry, peer, max, out, "any");
    if (out.length === 0 && this.inEndgame()) this.takeEndgame(entry, peer, max, out);
    return out;
  }

  /** Endgame: every missing block is reserved or received already. */
  inEndgame(): boolean {
    if (this.haveCount + this.inFlight.size < this.pieceCount) return false;
    for (const p of this.inFlight.values()) if (p.blocks.includes(BlockState.Free)) return false;
    return true;
  }

  // ---- arrivals ----------------------------------------------------------------------

  onBlock(peer: PeerKey, piece: number, begin: number, length: number): BlockVerdict {
    const p = this.inFlight.get(piece);
    const block = begin / BLOCK_SIZE;
    if (p === undefined || !Number.isInteger(block) || block >= p.blocks.length || length !== this.blockLength(piece, block)) {
      return this.have[piece] === 1 && p === undefined && Number.isInteger(block)
        ? { kind: "duplicate", piece, begin }
        : { kind: "unrequested", piece, begin, from: peer };
    }
    const holders = p.holders[block];
    if (p.blocks[block] === BlockState.Received) {
      this.dropReservation(peer, piece, begin);
      return { kind: "duplicate", piece, begin };
    }
    if (holders === undefined || !holders.includes(peer)) return { kind: "unrequested", piece, begin, from: peer };

    const cancelFrom = holders.filter((h) => h !== peer);
    for (const h of holders) this.dropReservation(h, piece, begin);
    p.holders[block] = undefined;
    p.blocks[block] = BlockState.Received;
    p.senders[block] = peer;
    p.received++;
    const remaining = p.blocks.length - p.received;
    if (remaining > 0) return { kind: "stored", piece, begin, remaining, cancelFrom };
    return { kind: "pieceComplete", piece, begin, contributors: uniq(p.senders), cancelFrom };
  }

  /** The piece failed its hash: start it over. Returns who sent each of its blocks. */
  pieceFailed(piece: number): readonly (PeerKey | undefined)[] {
    const p = this.inFlight.get(piece);
    if (p === undefined) return [];
    this.dropInFlight(piece);
    return p.senders;
  }

  /** Hash matched and the write returned: the piece is ours. */
  pieceDone(piece: number): void {
    this.markHave(piece);
  }

  // ---- internals ---------------------------------------------------------------------

  private blockLength(piece: number, block: number): number {
    const size = this.pieceSize(piece);
    return Math.min(BLOCK_SIZE, size - block * BLOCK_SIZE);
  }

  private peerHasPiece(entry: PeerEntry, index: number): boolean {
    return entry.has.has(index) || entry.extra.has(index);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) throw new RangeError(`piece index ${index}`);
  }

  private startPiece(piece: number): InFlightPiece {
    const n = this.blockCount(piece);
    const p: InFlightPiece = {
      blocks: new Uint8Array(n),
      holders: new Array<PeerKey[] | undefined>(n).fill(undefined),
      senders: new Array<PeerKey | undefined>(n).fill(undefined),
      received: 0,
    };
    this.inFlight.set(piece, p);
    return p;
  }

  private dropInFlight(piece: number): void {
    const p = this.inFlight.get(piece);
    if (p === undefined) return;
    for (let b = 0; b < p.holders.length; b++) {
      for (const h of p.holders[b] ?? []) this.dropReservation(h, piece, b * BLOCK_SIZE);
    }
    this.inFlight.delete(piece);
  }

  /** Rarest piece the peer has that is neither had nor started; random among equals. */
  private rarestNewPiece(entry: PeerEntry): number {
    let best = -1;
    let bestAvail = Infinity;
    let ties = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have[i] === 1 || this.inFlight.has(i) || !this.peerHasPiece(entry, i)) continue;
      const a = this.availability[i]!;
      if (a < bestAvail) {
        best = i;
        bestAvail = a;
        ties = 1;
      } else if (a === bestAvail) {
        ties++;
        if (this.random() * ties < 1) best = i; // reservoir sampling keeps each tie equally likely
      }
    }
    return best;
  }

  private takeFree(entry: PeerEntry, peer: PeerKey, piece: number, p: InFlightPiece, max: number, out: BlockRequest[]): void {
    for (let b = 0; b < p.blocks.length && out.length < max; b++) {
      if (p.blocks[b] !== BlockState.Free) continue;
      this.reserve(entry, peer, piece, p, b);
      out.push({ piece, begin: b * BLOCK_SIZE, length: this.blockLength(piece, b) });
    }
  }

  /** Free blocks of started pieces the peer has: only those nobody holds a block of ("orphaned"), or all. */
  private takeStarted(entry: PeerEntry, peer: PeerKey, max: number, out: BlockRequest[], which: "orphaned" | "any"): void {
    for (const [piece, p] of this.inFlight) {
      if (out.length >= max) return;
      if (!this.peerHasPiece(entry, piece)) continue;
      if (which === "orphaned" && p.blocks.includes(BlockState.Requested)) continue;
      this.takeFree(entry, peer, piece, p, max, out);
    }
  }

  private takeEndgame(entry: PeerEntry, peer: PeerKey, max: number, out: BlockRequest[]): void {
    for (const [piece, p] of this.inFlight) {
      if (!this.peerHasPiece(entry, piece)) continue;
      for (let b = 0; b < p.blocks.length && out.length < max; b++) {
        const holders = p.holders[b];
        if (p.blocks[b] !== BlockState.Requested || holders === undefined || holders.includes(peer)) continue;
        this.reserve(entry, peer, piece, p, b);
        out.push({ piece, begin: b * BLOCK_SIZE, length: this.blockLength(piece, b) });
      }
      if (out.length >= max) return;
    }
  }

  private reserve(entry: PeerEntry, peer: PeerKey, piece: number, p: InFlightPiece, block: number): void {
    p.blocks[block] = BlockState.Requested;
    const holders = p.holders[block];
    if (holders === undefined) p.holders[block] = [peer];
    else holders.push(peer);
    let begins = entry.reserved.get(piece);
    if (begins === undefined) {
      begins = new Set();
      entry.reserved.set(piece, begins);
    }
    begins.add(block * BLOCK_SIZE);
    entry.reservedCount++;
  }

  /** Remove `peer` from a block's holders; the block goes back to Free when none is left. */
  private unreserve(p: InFlightPiece, block: number, peer: PeerKey): void {
    const holders = p.holders[block];
    if (holders === undefined) return;
    const rest = holders.filter((h) => h !== peer);
    p.holders[block] = rest.length > 0 ? rest : undefined;
    if (rest.length === 0 && p.blocks[block] === BlockState.Requested) p.blocks[block] = BlockState.Free;
  }

  /** Forget that `peer` holds the block, in the peer's own book only. */
  private dropReservation(peer: PeerKey, piece: number, begin: number): void {
    const entry = this.peers.get(peer);
    const begins = entry?.reserved.get(piece);
    if (entry === undefined || begins === undefined || !begins.delete(begin)) return;
    entry.reservedCount--;
    if (begins.size === 0) entry.reserved.delete(piece);
  }
}

function uniq(keys: readonly (PeerKey | undefined)[]): PeerKey[] {
  const out = new Set<PeerKey>();
  for (const k of keys) if (k !== undefined) out.add(k);
  return [...out];
}
