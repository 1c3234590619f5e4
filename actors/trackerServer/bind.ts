/**
 * HTTP and UDP on one host:port. The TCP side binds first; the UDP socket then takes the same
 * port. With port 0 the kernel picks the TCP port, which may be taken on UDP by someone else:
 * then both are closed and a fresh pair tried, a bounded number of times.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server } from "node:http";
import { isIPv6 } from "node:net";
import type { Resource } from "../../src/runtime/index.js";
import type { TrackerLimits } from "./limits.js";

export class TrackerBindError extends Error {
  override readonly name = "TrackerBindError";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly transport: "http" | "udp",
    readonly code: string | undefined,
    options?: { cause: unknown },
  ) {
    super(`cannot listen on ${host}:${port} (${transport}): ${code ?? (options?.cause instanceof Error ? options.cause.message : "unknown error")}`, options);
  }
}

export interface BoundPair {
  readonly http: Server;
  readonly udp: UdpSocket;
  readonly port: number;
}

/** What binding needs from its actor: resources owned from their creation, let go when a pair is retried. */
export interface Owner {
  adopt<T extends Resource>(resource: T): T;
  release(resource: Resource): void;
}

const PORT_ZERO_ATTEMPTS = 8;

export async function bindPair(host: string, port: number, limits: TrackerLimits, owner: Owner): Promise<BoundPair> {
  for (let attempt = 1; ; attempt++) {
    const http = httpServer(limits);
    const closeHttp = owner.adopt(() => closeHttpServer(http));
    await listen(http, host, port);
    const address = http.address();
    const boundPort = typeof address === "object" && address !== null ? address.port : port;
    const udp = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
    const closeUdp = owner.adopt(() => closeUdpSocket(udp));
    try {
      await bindUdp(udp, host, boundPort);
      return { http, udp, port: boundPort };
    } catch (error) {
      const retry = port === 0 && attempt < PORT_ZERO_ATTEMPTS && error instanceof TrackerBindError && error.code === "EADDRINUSE";
      if (!retry) throw error;
      owner.release(closeUdp);
      owner.release(closeHttp);
      closeUdpSocket(udp);
      closeHttpServer(http);
    }
  }
}

function httpServer(limits: TrackerLimits): Server {
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.httpRequestTimeoutMs,
    headersTimeout: limits.httpRequestTimeoutMs,
    keepAliveTimeout: 5_000,
  });
  server.maxConnections = limits.maxHttpConnections;
  return server;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new TrackerBindError(host, port, "http", error.code, { cause: error }));
    server.once("error", onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function bindUdp(socket: UdpSocket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new TrackerBindError(host, port, "udp", error.code, { cause: error }));
    socket.once("error", onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off("error", onError);
      resolve();
    });
  });
}

/** Keep-alive connections would hold close() open: end them too. */
function closeHttpServer(server: Server): void {
  server.close();
  server.closeAllConnections();
}

function closeUdpSocket(socket: UdpSocket): void {
  try {
    socket.close();
  } catch {
    // already closed (a failed bind closes it): nothing left to release
  }
}
