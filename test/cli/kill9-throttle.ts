/**
 * A loopback TCP relay that caps the bytes flowing from the upstream (a seed) to the
 * client at `bytesPerSecond`, so a download is slow enough to be killed half-way on cue.
 * The other direction passes untouched. Every socket is closed by close().
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface Throttle {
  readonly port: number;
  /** Bytes relayed from upstream so far. */
  relayed(): number;
  close(): Promise<void>;
}

export async function startThrottle(upstreamPort: number, bytesPerSecond: number): Promise<Throttle> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let relayed = 0;
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    return s;
  };
  const server: Server = createServer((client) => {
    track(client);
    const upstream = track(createConnection({ host: "127.0.0.1", port: upstreamPort }));
    const started = Date.now();
    let sent = 0;
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => {
      client.write(chunk);
      sent += chunk.length;
      relayed += chunk.length;
      // Ahead of the allowed rate: stop reading upstream until the rate catches up.
      const due = started + (sent / bytesPerSecond) * 1000;
      const wait = due - Date.now();
      if (wait <= 0) return;
      upstream.pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        upstream.resume();
      }, wait);
      timers.add(timer);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("throttle: no port");
  return {
    port: address.port,
    relayed: () => relayed,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
