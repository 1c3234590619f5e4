/**
 * An example executor for the peer analyzer: the shape the peer actor's executor takes,
 * minus the socket and the picker. It switches exhaustively on the verdict's `kind` (the
 * `assertNever` default stops compiling when a kind is added and not handled) and keeps
 * the link's state the way the actor will, so the property test can drive the analyzer
 * through long random conversations.
 */

import { createActor } from "xstate";
import { analyzeWire, assertNever, openingAfter, uploadsOnChoke, type Opening, type PeerLinkState, type WireVerdict } from "../../actors/peer/analyze.js";
import { interestChange } from "../../actors/peer/interest.js";
import { linkFlags, peerLinkMachine, type PeerLinkEvent } from "../../actors/peer/machine.js";
import { RequestSet, UploadQueue } from "../../actors/peer/requests.js";
import { Bitfield, torrentGeometry, type TorrentContext, type TorrentGeometry, type WireEvent, type WireFeatures } from "../../src/protocol/wire/index.js";

export interface ExampleLinkOptions {
  readonly torrent: TorrentContext;
  readonly features: WireFeatures;
  readonly ours?: Bitfield;
  readonly uploadBound?: number;
  readonly extensionNames?: ReadonlyMap<number, string>;
}

export class ExampleLink {
  readonly machine = createActor(peerLinkMachine).start();
  readonly geometry: TorrentGeometry;
  readonly features: WireFeatures;
  readonly ours: Bitfield;
  theirs: Bitfield;
  opening: Opening = "awaitingPieces";
  readonly outstanding: RequestSet;
  readonly uploads: UploadQueue;
  readonly allowedFastToThem = new Set<number>();
  readonly allowedFastFromThem = new Set<number>();
  readonly extensionNames: ReadonlyMap<number, string>;
  peerQueueLimit: number | undefined;
  /** Messages the socket would carry, by kind. */
  readonly sent = { rejects: 0, pieces: 0 };
  readonly seen = new Map<WireVerdict["kind"], number>();
  /** Machine events that changed no flag: the analyzer promises there are none. */
  noopMachineEvents = 0;

  constructor(opts: ExampleLinkOptions) {
    this.geometry = torrentGeometry(opts.torrent);
    this.features = opts.features;
    this.ours = opts.ours ?? new Bitfield(this.geometry.pieceCount);
    this.theirs = new Bitfield(this.geometry.pieceCount);
    this.outstanding = new RequestSet(this.geometry.pieceLength);
    this.uploads = new UploadQueue(this.geometry.pieceLength, opts.uploadBound);
    this.extensionNames = opts.extensionNames ?? new Map();
    this.machine.send({ type: "CONNECTED" });
    this.machine.send({ type: "HANDSHAKE_OK" });
  }

  get closed(): boolean {
    return this.machine.getSnapshot().status === "done";
  }

  state(): PeerLinkState {
    return {
      flags: linkFlags(this.machine.getSnapshot()),
      features: this.features,
      geometry: this.geometry,
      ours: this.ours,
      theirs: this.theirs,
      opening: this.opening,
      allowedFastToThem: this.allowedFastToThem,
      uploads: this.uploads,
      outstanding: this.outstanding,
      extensionNames: this.extensionNames,
    };
  }

  receive(event: WireEvent): WireVerdict {
    const verdict = analyzeWire(this.state(), event);
    this.execute(verdict);
    this.opening = openingAfter(this.opening, event);
    return verdict;
  }

  execute(v: WireVerdict): void {
    this.seen.set(v.kind, (this.seen.get(v.kind) ?? 0) + 1);
    switch (v.kind) {
      case "close":
        this.send({ type: "CLOSE", reason: v.reason, detail: v.detail });
        return;
      case "peerPieces":
        this.theirs = v.set;
        if (v.interest !== undefined) this.send(v.interest);
        return;
      case "peerHas":
        this.theirs.set(v.index);
        if (v.interest !== undefined) this.send(v.interest);
        return;
      case "stateChange":
        this.send(v.event);
        return;
      case "choked":
        this.send(v.event);
        for (const r of v.abandoned) this.outstanding.delete(r.piece, r.begin, r.length);
        return;
      case "block":
        this.outstanding.delete(v.index, v.begin, v.block.length);
        if (v.unsnub !== undefined) this.send(v.unsnub);
        return;
      case "unrequestedBlock":
        return;
      case "serve":
        this.uploads.add(v.index, v.begin, v.length);
        return;
      case "rejectRequest":
        this.sent.rejects++;
        return;
      case "dropRequest":
        return;
      case "cancelServe":
        this.uploads.delete(v.index, v.begin, v.length);
        if (v.answer === "reject") this.sent.rejects++;
        return;
      case "requestRejected":
        this.outstanding.delete(v.index, v.begin, v.length);
        return;
      case "allowedFast":
        this.allowedFastFromThem.add(v.index);
        return;
      case "suggest":
        return;
      case "extendedHandshake":
        this.peerQueueLimit = v.handshake.requestQueue;
        return;
      case "extension":
        return;
      case "ignore":
        return;
      default:
        assertNever(v);
    }
  }

  // What the actor does on its own initiative (the choker, the picker, the clock).

  chokePeer(): void {
    const plan = uploadsOnChoke(this.uploads, this.features, this.allowedFastToThem);
    for (const r of [...plan.drop, ...plan.reject]) this.uploads.delete(r.piece, r.begin, r.length);
    this.sent.rejects += plan.reject.length;
    if (!linkFlags(this.machine.getSnapshot()).amChoking) this.send({ type: "CHOKE_PEER" });
  }

  unchokePeer(): void {
    if (linkFlags(this.machine.getSnapshot()).amChoking) this.send({ type: "UNCHOKE_PEER" });
  }

  /** The link clock found the peer stalled. */
  snub(): void {
    if (!linkFlags(this.machine.getSnapshot()).snubbed) this.send({ type: "SNUBBED" });
  }

  request(index: number, begin: number, length: number): void {
    this.outstanding.add(index, begin, length);
  }

  serveOldest(): void {
    if (this.uploads.shift() !== undefined) this.sent.pieces++;
  }

  /** We verified a piece: it may end our interest. */
  gotPiece(index: number): void {
    this.ours.set(index);
    const change = interestChange(this.ours, this.theirs, linkFlags(this.machine.getSnapshot()).amInterested);
    if (change !== undefined) this.send(change);
  }

  private send(event: PeerLinkEvent): void {
    const before = this.machine.getSnapshot();
    this.machine.send(event);
    const after = this.machine.getSnapshot();
    if (JSON.stringify(linkFlags(before)) === JSON.stringify(linkFlags(after)) && before.status === after.status) {
      this.noopMachineEvents++;
    }
  }
}
