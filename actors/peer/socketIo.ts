/**
 * The peer actor's socket plumbing: every socket callback becomes a message in the actor's
 * mailbox, reading is flow-controlled, and writes are batched.
 *
 * Guarantees:
 * - No socket callback runs peer logic outside a turn: data chunks are delivered as Buffers,
 *   the other events as SocketEvent messages (an error is this actor's to handle, never an
 *   uncaught exception). After the actor exits the callbacks are no-ops.
 * - Bounded reading: the socket is paused while the chunks waiting in the mailbox exceed
 *   `INBOUND_HIGH_WATER` bytes, while the actor has decoded messages left over from a turn
 *   that hit its budget (`hold`), or while our unsent output exceeds `BACKLOG_PAUSE`
 *   (`holdForDrain`: a peer that makes us answer -- rejects, haves -- and does not read);
 *   it resumes once all are clear. So what a peer can make us hold is about one high-water
 *   mark plus one socket read each way, whatever it sends.
 * - Batched writing: small messages are encoded into one scratch buffer; a block goes out
 *   as its 13-byte header and the block itself, never copied into a frame. Everything
 *   queued is written at `flush` (the actor asks for it with a FLUSH message to itself, so
 *   the messages already in its mailbox add to the same batch): one write, or one corked
 *   writev when blocks are in it.
 */
import type { Socket } from "node:net";
import type { Ctx } from "../../src/runtime/index.js";
import {
  KEEP_ALIVE_LENGTH,
  HAVE_MESSAGE_LENGTH,
  PIECE_HEADER_LENGTH,
  REQUEST_MESSAGE_LENGTH,
  writeBareMessage,
  writeCancel,
  writeHave,
  writePieceHeader,
  writeReject,
  writeRequest,
  type BareMessageType,
} from "../../src/protocol/wire/index.js";

/** Socket events other than data, as mailbox messages. */
export type SocketEvent =
  | { readonly t: "connected" }
  | { readonly t: "drain" }
  | { readonly t: "closed" }
  | { readonly t: "socketError"; readonly error: Error };

/** Chunks waiting in the mailbox above this pause the socket. */
export const INBOUND_HIGH_WATER = 512 * 1024;
/** Bytes queued in the socket above this stop new block reads until 'drain'. */
export const OUTBOUND_HIGH_WATER = 2 * 1024 * 1024;
/**
 * Unsent bytes above this stop reading the peer until 'drain'. Above OUTBOUND_HIGH_WATER
 * plus the reads in flight, so uploading alone never pauses our input.
 */
export const BACKLOG_PAUSE = 2 * OUTBOUND_HIGH_WATER;

const SCRATCH_BYTES = 16 * 1024;
/** Raw messages up to this size are copied into the batch; longer ones are written as they are. */
const COPY_LIMIT = 1024;

/**
 * The error listener a socket carries while nobody owns it (between the listener letting go
 * and the peer taking over), so an error in that gap closes the socket instead of throwing.
 */
export function handOffGuard(): void {
  // The peer sees the socket destroyed when it takes over, and closes the link.
}

export class PeerSocket {
  private queuedIn = 0;
  private held = false;
  private waitingDrain = false;
  private readonly out: Outbox;

  constructor(
    readonly socket: Socket,
    ctx: Ctx,
  ) {
    this.out = new Outbox(socket);
    const deliver = (msg: unknown): void => ctx.deliver(msg);
    socket.on("data", (chunk: Buffer) => {
      this.queuedIn += chunk.length;
      if (this.queuedIn >= INBOUND_HIGH_WATER) socket.pause();
      deliver(chunk);
    });
    socket.on("connect", () => deliver(CONNECTED));
    socket.on("drain", () => deliver(DRAIN));
    socket.on("close", () => deliver(CLOSED));
    socket.on("error", (error: Error) => deliver({ t: "socketError", error } satisfies SocketEvent));
    socket.off("error", handOffGuard);
  }

  /** The actor took a data chunk out of its mailbox. */
  taken(chunk: Buffer): void {
    this.queuedIn -= chunk.length;
    this.maybeResume();
  }

  /** Stop reading until `release`: the actor has decoded messages left for a later turn. */
  hold(): void {
    this.held = true;
    this.socket.pause();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.maybeResume();
  }

  /** Stop reading while we owe the peer more than BACKLOG_PAUSE unsent bytes. */
  checkBacklog(): void {
    if (this.waitingDrain || this.unsent <= BACKLOG_PAUSE) return;
    this.waitingDrain = true;
    this.socket.pause();
  }

  /** The socket emptied its write buffer. */
  drained(): void {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    this.maybeResume();
  }

  /** Start reading (a socket handed over paused). */
  start(): void {
    this.maybeResume();
  }

  /** Bytes we owe the peer: queued in the socket, plus queued in the outbox and not yet flushed. */
  get unsent(): number {
    return this.socket.writableLength + this.out.pending;
  }

  get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  get outbox(): Outbox {
    return this.out;
  }

  private maybeResume(): void {
    if (!this.held && !this.waitingDrain && this.queuedIn < INBOUND_HIGH_WATER && this.socket.isPaused()) this.socket.resume();
  }
}

const CONNECTED: SocketEvent = { t: "connected" };
const DRAIN: SocketEvent = { t: "drain" };
const CLOSED: SocketEvent = { t: "closed" };

/** What the outbox writes to: a socket, or a recorder in tests. */
export type OutboxSink = Pick<Socket, "destroyed" | "writable" | "write" | "cork" | "uncork">;

/** Messages queued for one batched write. */
export class Outbox {
  private scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private fill = 0;
  private segments: Buffer[] = [];
  private bytes = 0;
  /** Run once the batch queued so far has been written (or can no longer be). */
  private onWritten: (() => void)[] = [];

  constructor(private readonly socket: OutboxSink) {}

  /** Bytes queued and not yet flushed. */
  get pending(): number {
    return this.bytes + this.fill;
  }

  // Each writer asks for room first: room() may replace the scratch, so `this.scratch` is
  // read only after it.

  bare(type: BareMessageType): void {
    const at = this.room(5);
    this.fill = writeBareMessage(this.scratch, at, type);
  }

  keepAlive(): void {
    const at = this.room(KEEP_ALIVE_LENGTH);
    this.fill = this.scratch.writeUInt32BE(0, at);
  }

  have(index: number): void {
    const at = this.room(HAVE_MESSAGE_LENGTH);
    this.fill = writeHave(this.scratch, at, index);
  }

  request(index: number, begin: number, length: number): void {
    const at = this.room(REQUEST_MESSAGE_LENGTH);
    this.fill = writeRequest(this.scratch, at, index, begin, length);
  }

  cancel(index: number, begin: number, length: number): void {
    const at = this.room(REQUEST_MESSAGE_LENGTH);
    this.fill = writeCancel(this.scratch, at, index, begin, length);
  }

  reject(index: number, begin: number, length: number): void {
    const at = this.room(REQUEST_MESSAGE_LENGTH);
    this.fill = writeReject(this.scratch, at, index, begin, length);
  }

  /** An already encoded message (handshake, bitfield, extended handshake). */
  raw(message: Buffer): void {
    if (message.length <= COPY_LIMIT) {
      const at = this.room(message.length);
      this.fill = at + message.copy(this.scratch, at);
      return;
    }
    this.seal();
    this.push(message);
  }

  /** A piece message: its header in the batch, then the block by reference. */
  piece(index: number, begin: number, block: Buffer): void {
    const at = this.room(PIECE_HEADER_LENGTH);
    this.fill = writePieceHeader(this.scratch, at, index, begin, block.length);
    this.seal();
    this.push(block);
  }

  /**
   * `done` runs once everything queued so far is written, or will never be (the socket is
   * gone): then no segment queued before it is referenced by the outbox or the socket. It
   * runs outside any actor turn (from the socket's write callback), so it must only release
   * memory, never touch an actor's state.
   */
  afterWrite(done: () => void): void {
    this.onWritten.push(done);
  }

  /** Write everything queued; returns the bytes written (0 when the socket is gone). */
  flush(): number {
    this.seal();
    const segments = this.segments;
    const bytes = this.bytes;
    const onWritten = this.onWritten;
    this.segments = [];
    this.bytes = 0;
    if (onWritten.length > 0) this.onWritten = [];
    const socket = this.socket;
    if (segments.length === 0 || socket.destroyed || !socket.writable) {
      for (const done of onWritten) done();
      return 0;
    }
    // The socket calls back once a write is done or failed, in order: the last one covers all.
    const written = onWritten.length === 0 ? undefined : (): void => onWritten.forEach((done) => done());
    if (segments.length === 1) {
      socket.write(segments[0] as Buffer, written);
      return bytes;
    }
    socket.cork();
    const last = segments.length - 1;
    for (let i = 0; i < last; i++) socket.write(segments[i] as Buffer);
    socket.write(segments[last] as Buffer, written);
    socket.uncork();
    return bytes;
  }

  /** Where `n` more bytes go in the scratch (sealing it first when it is full). */
  private room(n: number): number {
    if (this.fill + n > this.scratch.length) this.seal();
    return this.fill;
  }

  /** Move what the scratch holds into the segment list. */
  private seal(): void {
    const fill = this.fill;
    if (fill === 0) return;
    this.fill = 0;
    if (fill > SCRATCH_BYTES / 2) {
      // Hand the full scratch over rather than copying most of it.
      this.push(this.scratch.subarray(0, fill));
      this.scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
      return;
    }
    const copy = Buffer.allocUnsafe(fill);
    this.scratch.copy(copy, 0, 0, fill);
    this.push(copy);
  }

  private push(segment: Buffer): void {
    this.segments.push(segment);
    this.bytes += segment.length;
  }
}
