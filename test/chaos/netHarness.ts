/**
 * Sockets for the net_proxy tests: a target server that records what each connection sent
 * (keyed by the dialler's address as the target sees it), clients that bind their own
 * loopback address, and bounded waits that move a ManualClock while real I/O happens.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { advance, type ManualClock } from "../../src/runtime/index.js";
import { until } from "../helpers/swarm.js";

export interface TargetConn {
  readonly socket: Socket;
  readonly remoteHost: string;
  readonly chunks: Buffer[];
  received: number;
  closed: boolean;
  error: string | undefined;
}

export interface Target {
  readonly server: Server;
  readonly port: number;
  readonly conns: TargetConn[];
  close(): Promise<void>;
}

/** Records every byte each connection sends; with `echo`, sends it straight back. */
export async function startTarget(host: string, mode: "record" | "echo" | "stall"): Promise<Target> {
  const conns: TargetConn[] = [];
  const server = createServer((socket) => {
    const conn: TargetConn = { socket, remoteHost: socket.remoteAddress ?? "", chunks: [], received: 0, closed: false, error: undefined };
    conns.push(conn);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      conn.error = err.code ?? err.message;
    });
    socket.on("close", () => {
      conn.closed = true;
    });
    // "stall" never reads: the proxy's writes back up into it.
    if (mode === "stall") {
      socket.pause();
      return;
    }
    socket.on("data", (chunk: Buffer) => {
      conn.chunks.push(chunk);
      conn.received += chunk.length;
      if (mode === "echo") socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    server,
    port,
    conns,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Client {
  readonly socket: Socket;
  /** "host:port" of the client's end, as the proxy names the link (kept: a destroyed socket forgets it). */
  address: string;
  readonly chunks: Buffer[];
  received: number;
  closed: boolean;
  error: string | undefined;
}

/** A client of the proxy bound to `localAddress`; resolves once connected. */
export async function dial(port: number, host: string, localAddress: string): Promise<Client> {
  const socket = connect({ host, port, localAddress });
  const client: Client = { socket, address: "", chunks: [], received: 0, closed: false, error: undefined };
  socket.on("data", (chunk: Buffer) => {
    client.chunks.push(chunk);
    client.received += chunk.length;
  });
  socket.on("error", (err: NodeJS.ErrnoException) => {
    client.error = err.code ?? err.message;
  });
  socket.on("close", () => {
    client.closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  client.address = `${socket.localAddress ?? ""}:${socket.localPort ?? 0}`;
  return client;
}

/**
 * Advances the manual clock `stepMs` at a time (letting real I/O in between) until `probe`
 * returns a value; fails after `maxMs` of simulated time or 10 s of real time.
 */
export async function advanceUntil<T>(clock: ManualClock, what: string, probe: () => T | undefined, stepMs: number, maxMs: number): Promise<T> {
  const start = clock.now();
  return until(
    what,
    async () => {
      const value = probe();
      if (value !== undefined) return value;
      if (clock.now() - start >= maxMs) throw new Error(`${what}: not within ${maxMs} ms of simulated time`);
      await advance(clock, stepMs);
      return probe();
    },
    10_000,
    1,
  );
}

/** Waits (real time, bounded) for a condition that real I/O brings about, without moving the clock. */
export function ioUntil(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<true> {
  return until(what, () => (probe() ? true : undefined), timeoutMs, 1);
}
