/**
 * A scripted remote peer for the peer actor's tests: a plain socket that writes whatever
 * bytes the test gives it and decodes what comes back with the wire codec, so a test can
 * wait for a message type or for the close, without sleeping.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import {
  HandshakeParser,
  WireDecoder,
  encodeHandshake,
  type Handshake,
  type TorrentContext,
  type WireMessage,
  type WireFeatures,
} from "../../src/protocol/wire/index.js";

export interface RawPeerOptions {
  readonly infoHash: Buffer;
  readonly peerId?: Buffer;
  readonly fast?: boolean;
  readonly extended?: boolean;
  readonly torrent: TorrentContext;
}

export class RawPeer {
  readonly received: WireMessage[] = [];
  handshake: Handshake | undefined;
  readonly closed: Promise<void>;
  /** Resolves once the other end's handshake arrived (and, when answering, ours was sent). */
  readonly handshaken: Promise<void>;
  private handshakeArrived!: () => void;
  private readonly parser = new HandshakeParser();
  private decoder: WireDecoder | undefined;
  private waiters: { test: (m: WireMessage) => boolean; from: number; resolve: (m: WireMessage) => void; reject: (e: Error) => void }[] = [];
  private isClosed = false;

  constructor(
    readonly socket: Socket,
    private readonly opts: RawPeerOptions,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    this.handshaken = new Promise<void>((resolve) => (this.handshakeArrived = resolve));
    this.closed = new Promise<void>((resolve) => {
      socket.on("close", () => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w.reject(new Error(`closed before a matching message (${this.received.map((m) => m.type).join(",")})`));
        resolve();
      });
    });
  }

  /** Dial `port` on 127.0.0.1 (optionally from `localAddress`) and send our handshake. */
  static async dial(port: number, opts: RawPeerOptions & { localAddress?: string; sendHandshake?: boolean }): Promise<RawPeer> {
    const socket = connect({ host: "127.0.0.1", port, ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const peer = new RawPeer(socket, opts);
    if (opts.sendHandshake !== false) peer.write(peer.ourHandshake());
    return peer;
  }

  /** A server that turns its first connection into a RawPeer (it answers the handshake when it gets one). */
  static listen(opts: RawPeerOptions): Promise<{ server: Server; port: number; peer: Promise<RawPeer> }> {
    let accept!: (p: RawPeer) => void;
    const peer = new Promise<RawPeer>((resolve) => (accept = resolve));
    const server = createServer((socket) => {
      const raw = new RawPeer(socket, opts);
      raw.answerHandshake = true;
      accept(raw);
    });
    return new Promise((resolve) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        resolve({ server, port: typeof address === "object" && address !== null ? address.port : 0, peer });
      });
    });
  }

  answerHandshake = false;
  /** Types counted in `tally` (and shown to `onMessage`) but not kept in `received` (floods). */
  readonly uncounted = new Set<WireMessage["type"]>();
  readonly tally = new Map<WireMessage["type"], number>();
  /** Called for each message as it arrives (after it is recorded). */
  onMessage: ((m: WireMessage) => void) | undefined = undefined;

  get features(): WireFeatures {
    return { fast: this.opts.fast ?? true, extended: this.opts.extended ?? true };
  }

  ourHandshake(): Buffer {
    return encodeHandshake({
      infoHash: this.opts.infoHash,
      peerId: this.opts.peerId ?? Buffer.from("-XX0000-rawpeer12345", "latin1"),
      ...this.features,
      dht: false,
    });
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Resolves with the first message (from index `from` on) that passes `test`. */
  waitFor(test: (m: WireMessage) => boolean, from = 0): Promise<WireMessage> {
    for (let i = from; i < this.received.length; i++) {
      const m = this.received[i] as WireMessage;
      if (test(m)) return Promise.resolve(m);
    }
    if (this.isClosed) return Promise.reject(new Error("closed"));
    return new Promise((resolve, reject) => this.waiters.push({ test, from, resolve, reject }));
  }

  waitType<T extends WireMessage["type"]>(type: T, from = 0): Promise<Extract<WireMessage, { type: T }>> {
    return this.waitFor((m) => m.type === type, from) as Promise<Extract<WireMessage, { type: T }>>;
  }

  countOf(type: WireMessage["type"]): number {
    return this.received.filter((m) => m.type === type).length;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let rest = chunk;
    if (this.decoder === undefined) {
      const step = this.parser.push(chunk);
      if (step.type === "needMore") return;
      if (step.type === "violation") {
        this.socket.destroy();
        return;
      }
      this.handshake = step.handshake;
      rest = step.rest;
      this.decoder = new WireDecoder({ features: this.features, context: this.opts.torrent });
      if (this.answerHandshake) this.write(this.ourHandshake());
      this.handshakeArrived();
    }
    this.decoder.push(rest);
    for (let event = this.decoder.next(); event !== undefined; event = this.decoder.next()) {
      if (event.type === "violation") {
        this.socket.destroy();
        return;
      }
      this.tally.set(event.type, (this.tally.get(event.type) ?? 0) + 1);
      if (this.uncounted.has(event.type)) {
        this.onMessage?.(event);
        continue;
      }
      // Blocks are views of the socket's chunk: keep a copy.
      const msg: WireMessage = event.type === "piece" ? { ...event, block: Buffer.from(event.block) } : event;
      this.received.push(msg);
      this.onMessage?.(msg);
      const index = this.received.length - 1;
      for (const w of this.waiters.splice(0)) {
        if (index >= w.from && w.test(msg)) w.resolve(msg);
        else this.waiters.push(w);
      }
    }
  }
}
