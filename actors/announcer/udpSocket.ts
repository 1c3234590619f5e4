/**
 * The announcer's one UDP socket (adopted: closed when the actor exits; its datagrams and
 * errors arrive as mailbox messages), and the best-effort `stopped` exchange run while the
 * actor terminates (its mailbox is closed then, so that one listens on the socket directly).
 */
import dgram, { type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { decodeUdpReply, encodeAnnounce, encodeConnect, type AnnounceRequest } from "../../src/protocol/tracker/index.js";
import type { Clock, Ctx } from "../../src/runtime/index.js";
import type { AnnouncerInfo } from "./messages.js";
import { usableConnection, type UdpConnection, type UdpTiming } from "./udpSession.js";

/** `id` numbers the sockets one actor opens, so events of a replaced one can be told apart. */
export function openTrackerSocket(ctx: Ctx, localAddress: string | undefined, id: number): Socket {
  const socket = dgram.createSocket({ type: localAddress !== undefined && isIPv6(localAddress) ? "udp6" : "udp4" });
  ctx.adopt(socket);
  socket.on(
    "message",
    ctx.relay((packet: Buffer, rinfo: RemoteInfo): AnnouncerInfo => ({ t: "udpPacket", socket: id, packet, address: rinfo.address, port: rinfo.port })),
  );
  socket.on("error", ctx.relay((err: Error): AnnouncerInfo => ({ t: "udpSocketFailed", socket: id, why: err.message })));
  // Sends made before the bind completes are queued by dgram.
  socket.bind(localAddress === undefined ? { port: 0 } : { port: 0, address: localAddress });
  return socket;
}

/** Sends; a synchronous throw (socket closed) is reported like an asynchronous send error. */
export function sendDatagram(socket: Socket, packet: Buffer, host: string, port: number, onError: (why: string) => void): void {
  try {
    socket.send(packet, port, host, (err) => {
      if (err) onError(err.message);
    });
  } catch (err) {
    onError(err instanceof Error ? err.message : String(err));
  }
}

export interface StoppedExchange {
  readonly socket: Socket;
  readonly host: string;
  readonly port: number;
  readonly connection: UdpConnection | undefined;
  readonly request: AnnounceRequest;
  readonly timing: UdpTiming;
  readonly txid: () => number;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

/** `stopped` over UDP: reuse a live connection id, else one connect first; resolves when sent or on timeout. */
export function sendUdpStopped(x: StoppedExchange): Promise<void> {
  return new Promise<void>((resolve) => {
    let connectTxid = -1;
    const onMessage = (packet: Buffer): void => {
      const v = decodeUdpReply(packet, { txid: connectTxid, action: "connect", maxPeers: 0 });
      if (v.kind === "connected") sendAnnounce(v.connectionId);
      else if (v.kind !== "stray") done();
    };
    const timer = x.clock.setTimer(x.timeoutMs, () => done());
    function done(): void {
      x.clock.clearTimer(timer);
      x.socket.off("message", onMessage);
      resolve();
    }
    function sendAnnounce(id: Buffer): void {
      try {
        x.socket.send(encodeAnnounce(id, x.txid(), x.request), x.port, x.host, () => done());
      } catch {
        done();
      }
    }
    if (usableConnection(x.connection, x.clock.now(), x.timing)) {
      sendAnnounce(x.connection.id);
      return;
    }
    connectTxid = x.txid();
    x.socket.on("message", onMessage);
    sendDatagram(x.socket, encodeConnect(connectTxid), x.host, x.port, () => done());
  });
}
