/**
 * The peer actor's state (one object per connection, mutated in place by its handlers) and
 * the helpers every part of the actor shares: queueing output, feeding the machine.
 */
import type { Ctx, Pid, TimerRef } from "../../src/runtime/index.js";
import type { HandshakeParser } from "../../src/protocol/wire/index.js";
import type { PeerKey } from "../pieceMgr/picker.js";
import type { TorrentState } from "../torrentState.js";
import type { InterestEvent } from "./interest.js";
import type { ActiveLink, LinkMachine } from "./link.js";
import type { PeerConfig } from "./options.js";
import type { PeerSocket } from "./socketIo.js";
import type { MetadataOffer } from "./metadataServe.js";

/** How a peer reads the blocks it uploads; TorrentIo implements it (pad bytes read as zeros). */
export interface BlockReader {
  readBlock(ctx: Ctx, piece: number, begin: number, length: number): Promise<Buffer>;
  /** Gives back bytes readBlock returned, once nothing reads them any more (a reader may reuse their memory then). */
  release?(block: Buffer): void;
}

export type Stage =
  | { readonly kind: "connecting" }
  | { readonly kind: "handshaking"; readonly parser: HandshakeParser }
  | { readonly kind: "active"; readonly link: ActiveLink };

export interface PeerConn {
  /** `host:port` of the connection: the piece manager's PeerKey and our registered name's last part. */
  readonly key: PeerKey;
  readonly host: string;
  readonly ts: TorrentState;
  readonly io: BlockReader;
  readonly peerId: Buffer;
  readonly config: PeerConfig;
  readonly sock: PeerSocket;
  readonly machine: LinkMachine;
  stage: Stage;
  /** A FLUSH message is queued. */
  flushQueued: boolean;
  /** The piece manager we joined (monitored). */
  mgr: Pid | undefined;
  /** Connect plus both handshakes must be over when it fires. */
  handshakeTimer: TimerRef | undefined;
  /** Whether we serve the info dictionary to magnet peers (BEP 9), and its size. */
  readonly metadataOffer: MetadataOffer;
}

/** Self-messages of the peer actor. */
export const FLUSH = Object.freeze({ t: "flush" as const });
export const CONTINUE = Object.freeze({ t: "continue" as const });
export const HANDSHAKE_TIMEOUT = Object.freeze({ t: "handshakeTimeout" as const });
export const TICK = Object.freeze({ t: "tick" as const });
/** Time to tell the choker our rates (armed at the cadence the choker asked for). */
export const CHOKER_REPORT = Object.freeze({ t: "chokerReport" as const });
export type SelfMsg = typeof FLUSH | typeof CONTINUE | typeof HANDSHAKE_TIMEOUT | typeof TICK | typeof CHOKER_REPORT;

/**
 * Output was queued: write it once the messages already in the mailbox are handled, so they
 * share the write (a batch of requests, the blocks of several reads).
 */
export function wrote(conn: PeerConn, ctx: Ctx): void {
  if (conn.flushQueued) return;
  conn.flushQueued = true;
  ctx.deliver(FLUSH);
}

export function now(ctx: Ctx): number {
  return ctx.runtime.clock.now();
}

/** Tell the peer and the machine that our interest changed. */
export function setInterest(conn: PeerConn, ctx: Ctx, event: InterestEvent): void {
  conn.machine.send(event);
  conn.sock.outbox.bare(event.type === "BECOME_INTERESTED" ? "interested" : "notInterested");
  wrote(conn, ctx);
}
