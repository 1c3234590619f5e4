/**
 * The state a peer actor keeps for one connection: the lifecycle machine (fed only state
 * changes, its flags cached so the byte path reads plain fields), and, once both
 * handshakes are done, the active link the analyzer reads as its PeerLinkState.
 */
import { createActor } from "xstate";
import type { Ctx, TimerRef } from "../../src/runtime/index.js";
import { Bitfield, WireDecoder, type TorrentGeometry, type ViolationReason, type WireFeatures } from "../../src/protocol/wire/index.js";
import type { PeerKey, PieceSet } from "../pieceMgr/picker.js";
import type { Opening, PeerLinkState } from "./analyze.js";
import { LinkClock } from "./liveness.js";
import { INITIAL_FLAGS, linkFlags, peerLinkMachine, type CloseReason, type LinkFlags, type PeerLinkEvent } from "./machine.js";
import type { PeerConfig } from "./options.js";
import { RateMeter } from "./rateMeter.js";
import { RequestSet, UploadQueue } from "./requests.js";
import { UploadPins } from "./uploadPins.js";
import { UT_METADATA_ID } from "./metadataServe.js";

/**
 * Why a peer actor ended its link: the `detail` of its `{shutdown, detail}` exit reason.
 * Every way a link ends (a bad peer, a closed socket, a ban) is an orderly shutdown, not a
 * crash: a thousand misbehaving peers must not flood the crash log.
 */
export interface PeerExit {
  readonly peer: PeerKey;
  readonly why: PeerExitWhy;
  readonly detail?: string | undefined;
  /** For why = "violation": what the peer broke. */
  readonly violation?: ViolationReason | undefined;
}

export type PeerExitWhy =
  | CloseReason
  /** The piece manager banned the peer's host for sending data that failed the hash. */
  | "banned"
  /** The piece manager (holder of our block reservations) is gone; torrent_sup restarts us. */
  | "pieceMgrDown";

/** A decision to end the link, before it becomes the exit reason. */
export interface LinkEnd {
  readonly why: PeerExitWhy;
  readonly detail?: string | undefined;
  readonly violation?: ViolationReason | undefined;
}

/** The machine's record of why it closed; our extra reasons are stops on our side. */
function machineReason(why: PeerExitWhy): CloseReason {
  return why === "banned" || why === "pieceMgrDown" ? "shutdown" : why;
}

/** The xstate lifecycle, owned by the actor (adopted: stopped when the actor exits). */
export class LinkMachine {
  private readonly actor = createActor(peerLinkMachine);
  private cached: LinkFlags = INITIAL_FLAGS;

  constructor(ctx: Ctx) {
    // An observer keeps xstate from rethrowing an error on its own; we read it after send.
    this.actor.subscribe({ error: () => undefined });
    ctx.adopt(this.actor);
    this.actor.start();
  }

  get flags(): LinkFlags {
    return this.cached;
  }

  /** Feed a state change; a machine error is thrown here, so it is this actor's crash. */
  send(event: PeerLinkEvent): void {
    this.actor.send(event);
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === "error") throw snapshot.error;
    this.cached = linkFlags(snapshot);
  }

  close(end: LinkEnd): void {
    this.send({ type: "CLOSE", reason: machineReason(end.why), detail: end.detail });
  }
}

const NONE: PieceSet = { has: () => false };
const OUR_EXTENSIONS: ReadonlyMap<number, string> = new Map([[UT_METADATA_ID, "ut_metadata"]]);

/** An established link: what the analyzer reads, plus the byte path's bookkeeping. */
export class ActiveLink implements PeerLinkState {
  readonly decoder: WireDecoder;
  /** Replaced by the peer's first message; grown by its haves. */
  theirs: Bitfield;
  opening: Opening = "awaitingPieces";
  /** We grant no allowed-fast pieces (BEP 6 makes it optional). */
  readonly allowedFastToThem: PieceSet = NONE;
  /** The extension messages we announce in `m`, by id. */
  readonly extensionNames: ReadonlyMap<number, string> = OUR_EXTENSIONS;
  /** The peer's id for ut_metadata, once its extended handshake told us (0: switched off). */
  theirMetadataId: number | undefined = undefined;
  readonly uploads: UploadQueue;
  readonly outstanding: RequestSet;
  /** Queued uploads whose block is not being read yet, oldest first. */
  readonly toRead: RequestSet;
  readsInFlight = 0;
  /** Bytes those reads will add to the outbox (counted against OUTBOUND_HIGH_WATER before they land). */
  readBytesInFlight = 0;
  /** Read-ahead memory our unsent blocks keep alive. */
  readonly pins = new UploadPins();
  /** The peer's `reqq`, once its extended handshake told us. */
  peerQueueLimit: number | undefined = undefined;
  /** A pick call is in flight: one at a time, so reservations never race each other. */
  picking = false;
  /** A CONTINUE message is queued: decoded input waits for a later turn. */
  decodePending = false;
  readonly downRate: RateMeter;
  readonly upRate: RateMeter;
  readonly clock: LinkClock;
  /** The one liveness timer, and when it is due. */
  tick: TimerRef | undefined = undefined;
  tickAt = Infinity;
  /** When both handshakes were done: the choker weighs young links up in its optimistic draw. */
  readonly activeSince: number;
  /** The periodic report to the choker, once the choker asked for it. */
  chokerReport: TimerRef | undefined = undefined;

  constructor(
    private readonly machine: LinkMachine,
    readonly features: WireFeatures,
    readonly geometry: TorrentGeometry,
    readonly ours: Bitfield,
    config: PeerConfig,
    now: number,
  ) {
    this.decoder = new WireDecoder({ features, context: geometry });
    this.theirs = new Bitfield(geometry.pieceCount);
    this.uploads = new UploadQueue(geometry.pieceLength, config.uploadQueueBound);
    this.outstanding = new RequestSet(geometry.pieceLength);
    this.toRead = new RequestSet(geometry.pieceLength);
    this.downRate = new RateMeter(now);
    this.upRate = new RateMeter(now);
    this.clock = new LinkClock(now, config.liveness);
    this.activeSince = now;
  }

  get flags(): LinkFlags {
    return this.machine.flags;
  }
}
