/**
 * A hand-built BitTorrent client for abuse tests: a plain socket writing bytes the test
 * spells out (no codec of ours, so a codec bug cannot hide itself), counting what comes
 * back and noticing the close. Memory per connection is bounded: it keeps only the first
 * 68 bytes it receives (the other side's handshake) and a byte count.
 */
import { connect, type Socket } from "node:net";
import { withTimeout } from "./swarm.js";

const PROTOCOL = Buffer.from("\x13BitTorrent protocol", "latin1");
export const HANDSHAKE_BYTES = 68;

/** Our handshake: no extension bits (no fast, no BEP 10), so the answer opens with a bitfield. */
export function handshake(infoHash: Buffer, peerId: Buffer): Buffer {
  return Buffer.concat([PROTOCOL, Buffer.alloc(8), infoHash, peerId]);
}

/** `<length><id><payload>`; `length` defaults to the true one (a test may lie). */
export function frame(id: number, payload: Buffer = Buffer.alloc(0), length = 1 + payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(length >>> 0, 0);
  head.writeUInt8(id, 4);
  return Buffer.concat([head, payload]);
}

export const INTERESTED = 2;
export const BITFIELD = 5;
export const REQUEST = 6;

export function request(index: number, begin: number, length: number): Buffer {
  const p = Buffer.alloc(12);
  p.writeUInt32BE(index, 0);
  p.writeUInt32BE(begin, 4);
  p.writeUInt32BE(length, 8);
  return frame(REQUEST, p);
}

export class RawConn {
  received = 0;
  readonly head: Buffer[] = [];
  readonly closed: Promise<void>;
  private headBytes = 0;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received += chunk.length;
      if (this.headBytes < HANDSHAKE_BYTES) {
        const part = chunk.subarray(0, HANDSHAKE_BYTES - this.headBytes);
        this.head.push(Buffer.from(part));
        this.headBytes += part.length;
      }
      for (const w of this.waiters.filter((x) => this.received >= x.bytes)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    });
    socket.on("error", () => undefined); // a reset by the node is one of the expected ends
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
  }

  /** Connects from `localAddress` (a loopback address of the test's own). */
  static open(host: string, port: number, localAddress: string, timeoutMs = 5000): Promise<RawConn> {
    const socket = connect({ host, port, localAddress });
    const conn = new RawConn(socket);
    const connected = new Promise<RawConn>((resolve, reject) => {
      socket.once("connect", () => {
        conn.localKey = `${socket.localAddress ?? "?"}:${socket.localPort ?? 0}`;
        resolve(conn);
      });
      socket.once("error", reject);
    });
    return withTimeout(connected, timeoutMs, `a connection to ${host}:${port}`).catch((err: unknown) => {
      socket.destroy();
      throw err;
    });
  }

  /** `host:port` of our end, as the node's peer actor names us (kept: a closed socket forgets it). */
  localKey = "";

  /** The first 68 bytes received (the other side's handshake). */
  theirHandshake(): Buffer {
    return Buffer.concat(this.head);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `n` bytes in all arrived; rejects at the close or after `timeoutMs`. */
  bytes(n: number, timeoutMs: number): Promise<void> {
    if (this.received >= n) return Promise.resolve();
    const got = new Promise<void>((resolve) => this.waiters.push({ bytes: n, resolve }));
    const closedFirst = this.closed.then((): never => {
      throw new Error(`closed after ${this.received} of ${n} bytes`);
    });
    return withTimeout(Promise.race([got, closedFirst]), timeoutMs, `${n} bytes from the node`);
  }

  /** The node closed the connection within `timeoutMs` (we never close it ourselves first). */
  closedBy(timeoutMs: number): Promise<void> {
    return withTimeout(this.closed, timeoutMs, "the node to close the connection");
  }

  destroy(): void {
    this.socket.destroy();
  }
}
