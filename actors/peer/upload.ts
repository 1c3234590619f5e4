/**
 * Our side of the link as an uploader: serve the peer's queued requests from disk.
 *
 * Guarantees:
 * - Bounded: the analyzer lets at most `uploadQueueBound` requests into the queue; at most
 *   `maxReads` of them are being read at once, and none is started while the socket holds
 *   more than OUTBOUND_HIGH_WATER unsent bytes (a peer that asks and does not read stalls
 *   its own uploads, not our memory). 'drain' starts them again.
 * - A block is sent only if its request is still queued when the read returns: a cancel or
 *   a choke in the meantime drops it.
 * - The block goes out as header + the read buffer itself, no copy.
 */
import type { Ctx } from "../../src/runtime/index.js";
import { uploadsOnChoke } from "./analyze.js";
import { now, wrote, type PeerConn } from "./conn.js";
import type { ActiveLink } from "./link.js";
import { OUTBOUND_HIGH_WATER } from "./socketIo.js";
import { uploadSlot, type UploadSlotDecision } from "./unchokePolicy.js";

/** A block read for an upload, back in the mailbox. */
export class BlockRead {
  constructor(
    readonly piece: number,
    readonly begin: number,
    readonly length: number,
    readonly data: Buffer,
  ) {}
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
  while (link.readsInFlight < max && sock.writeBacklog + sock.outbox.pending < OUTBOUND_HIGH_WATER) {
    const r = link.toRead.shift();
    if (r === undefined) return;
    link.readsInFlight++;
    const { piece, begin, length } = r;
    ctx.pipe(conn.io.readBlock(ctx, piece, begin, length), (data) => new BlockRead(piece, begin, length, data));
  }
}

export function onBlockRead(conn: PeerConn, link: ActiveLink, ctx: Ctx, read: BlockRead): void {
  link.readsInFlight--;
  if (read.data.length !== read.length) {
    throw new RangeError(`readBlock(${read.piece}, ${read.begin}, ${read.length}) returned ${read.data.length} bytes`);
  }
  if (link.uploads.delete(read.piece, read.begin, read.length)) {
    conn.sock.outbox.piece(read.piece, read.begin, read.data);
    conn.ts.counters.uploaded += read.length;
    link.upRate.add(read.length, now(ctx));
    wrote(conn, ctx);
  }
  pumpReads(conn, link, ctx);
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
