/**
 * Our side of the link as an uploader: serve the peer's queued requests from disk.
 *
 * Guarantees:
 * - Bounded: the analyzer lets at most `uploadQueueBound` requests into the queue; at most
 *   `maxReads` reads (each a batch, below) are in flight, and none is started while the
 *   unsent bytes plus the bytes of the reads in flight exceed OUTBOUND_HIGH_WATER (a peer
 *   that asks and does not read stalls its own uploads, not our memory). 'drain' starts
 *   them again. What one peer makes us hold: up to OUTBOUND_HIGH_WATER of block bytes plus
 *   one batch, the read-ahead windows its unsent blocks are views of, at most
 *   UPLOAD_PIN_BUDGET (a read past it is copied out: ./uploadPins.ts), and the windows of
 *   reads that came back and wait in the mailbox, at most maxReads. So a peer that asks for
 *   one block per window and never reads holds about 6 MiB (10 with 16 reads waiting; the
 *   test measured 8), not a 256 KiB window per 16 KiB block it owes (32 MiB).
 * - Read bytes go back to the reader (`BlockReader.release`) once the socket has written
 *   them (`Outbox.afterWrite`), or at once when none of them was sent: the read-ahead
 *   reuses their buffer only then (actors/io/readAhead.ts).
 * - A block is sent only if its request is still queued when the read returns: a cancel or
 *   a choke in the meantime drops it.
 * - Reads are batched: the oldest queued request and the queued ones that follow it in the
 *   same piece, back to back, within one read-ahead window (READ_AHEAD_WINDOW), are read as
 *   one range. Peers ask for blocks in order, so one read and one mailbox message serve up
 *   to 16 blocks (bench:pair: the per-block read, promise and message were most of the
 *   seed's JavaScript time).
 * - Each block goes out as header + a view of the read buffer, no copy, within the pin budget.
 */
import type { Ctx } from "../../src/runtime/index.js";
import { uploadsOnChoke } from "./analyze.js";
import { now, wrote, type PeerConn } from "./conn.js";
import type { ActiveLink } from "./link.js";
import type { RequestSet } from "./requests.js";
import { OUTBOUND_HIGH_WATER } from "./socketIo.js";
import { READ_AHEAD_WINDOW } from "../io/readAhead.js";
import type { BlockRequest } from "../pieceMgr/picker.js";
import { uploadSlot, type UploadSlotDecision } from "./unchokePolicy.js";
import type { UploadMemoryPlan } from "./uploadPins.js";

/** Blocks read for uploads, back in the mailbox: `data` is the bytes of `requests`, back to back. */
export class BlockRead {
  constructor(
    readonly data: Buffer,
    /** A run from takeReadBatch: one piece, contiguous, at least one request. */
    readonly requests: readonly BlockRequest[],
  ) {}

  get piece(): number {
    return (this.requests[0] as BlockRequest).piece;
  }

  get begin(): number {
    return (this.requests[0] as BlockRequest).begin;
  }

  get length(): number {
    return runLength(this.requests);
  }
}

/** Bytes covered by a contiguous run of requests. */
function runLength(run: readonly BlockRequest[]): number {
  const first = run[0];
  const last = run[run.length - 1];
  return first === undefined || last === undefined ? 0 : last.begin + last.length - first.begin;
}

/** Takes the oldest queued request and those that continue it within one read-ahead window. */
export function takeReadBatch(toRead: RequestSet, window = READ_AHEAD_WINDOW): BlockRequest[] {
  const head = toRead.shift();
  if (head === undefined) return [];
  const batch = [head];
  const windowEnd = (Math.floor(head.begin / window) + 1) * window;
  let end = head.begin + head.length;
  for (let next = toRead.first(); next !== undefined && next.piece === head.piece && next.begin === end && end + next.length <= windowEnd; next = toRead.first()) {
    batch.push(toRead.shift() as BlockRequest);
    end += next.length;
  }
  return batch;
}

export function queueUpload(link: ActiveLink, index: number, begin: number, length: number): void {
  link.uploads.add(index, begin, length);
  link.toRead.add(index, begin, length);
}

export function dropUpload(link: ActiveLink, index: number, begin: number, length: number): void {
  link.uploads.delete(index, begin, length);
  link.toRead.delete(index, begin, length);
}

/** Start reads for queued requests while there is room. */
export function pumpReads(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  const max = conn.config.maxReads;
  const sock = conn.sock;
  while (link.readsInFlight < max && sock.unsent + link.readBytesInFlight < OUTBOUND_HIGH_WATER) {
    const batch = takeReadBatch(link.toRead);
    const head = batch[0];
    if (head === undefined) return;
    link.readsInFlight++;
    const length = runLength(batch);
    link.readBytesInFlight += length;
    ctx.pipe(conn.io.readBlock(ctx, head.piece, head.begin, length), (data) => new BlockRead(data, batch));
  }
}

export function onBlockRead(conn: PeerConn, link: ActiveLink, ctx: Ctx, read: BlockRead): void {
  link.readsInFlight--;
  link.readBytesInFlight -= read.length;
  if (read.data.length !== read.length) {
    throw new RangeError(`readBlock(${read.piece}, ${read.begin}, ${read.length}) returned ${read.data.length} bytes`);
  }
  const out = conn.sock.outbox;
  let plan: UploadMemoryPlan | undefined; // decided at the first block still wanted
  let bytes = read.data;
  let sent = 0;
  for (const r of read.requests) {
    if (!link.uploads.delete(r.piece, r.begin, r.length)) continue; // cancelled or choked meanwhile
    if (plan === undefined) {
      plan = link.pins.plan(read.data);
      if (plan.kind === "copy") bytes = Buffer.from(read.data);
    }
    const at = r.begin - read.begin;
    out.piece(r.piece, r.begin, bytes.subarray(at, at + r.length));
    sent += r.length;
  }
  giveBack(conn, link, read.data, plan);
  if (sent > 0) {
    conn.ts.counters.uploaded += sent;
    link.upRate.add(sent, now(ctx));
    wrote(conn, ctx);
  }
  pumpReads(conn, link, ctx);
}

/**
 * When the reader may reuse a read's bytes: at once when nothing was sent from them (no
 * plan) or a copy was; sent by reference, once the socket has written them.
 */
function giveBack(conn: PeerConn, link: ActiveLink, data: Buffer, plan: UploadMemoryPlan | undefined): void {
  const io = conn.io;
  switch (plan?.kind) {
    case undefined:
    case "copy":
      io.release?.(data);
      return;
    case "byReference": {
      const unpin = link.pins.pin(data);
      conn.sock.outbox.afterWrite(() => {
        unpin();
        io.release?.(data);
      });
      return;
    }
    default: {
      const unreachable: never = plan;
      throw new Error(`upload memory plan: ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Apply the choker-less unchoke policy after the peer's interest changed. */
export function applyUploadSlot(conn: PeerConn, link: ActiveLink, ctx: Ctx): void {
  setUploadSlot(conn, link, ctx, uploadSlot(link.flags));
}

/** Perform an upload-slot decision: the machine event, the wire message, and on a choke the queued requests. */
export function setUploadSlot(conn: PeerConn, link: ActiveLink, ctx: Ctx, decision: UploadSlotDecision): void {
  const out = conn.sock.outbox;
  switch (decision.kind) {
    case "keep":
      return;
    case "unchoke":
      conn.machine.send({ type: "UNCHOKE_PEER" });
      out.bare("unchoke");
      break;
    case "choke": {
      // The choke first, then a reject per queued request (BEP 6, libtorrent's order);
      // without fast they are dropped silently (BEP 3: a choke discards them).
      conn.machine.send({ type: "CHOKE_PEER" });
      out.bare("choke");
      const plan = uploadsOnChoke(link.uploads, link.features, link.allowedFastToThem);
      for (const r of plan.drop) dropUpload(link, r.piece, r.begin, r.length);
      for (const r of plan.reject) {
        dropUpload(link, r.piece, r.begin, r.length);
        out.reject(r.piece, r.begin, r.length);
      }
      break;
    }
    default: {
      const unreachable: never = decision;
      throw new Error(`upload slot: ${JSON.stringify(unreachable)}`);
    }
  }
  wrote(conn, ctx);
}
