/**
 * A hand-built tracker client for the server tests: HTTP announce/scrape URLs with every byte
 * percent-encoded, and a BEP 15 UDP client that matches replies by transaction id. Written
 * from the BEPs, independently of the server's codecs, so the two check each other.
 */
import { createSocket, type Socket } from "node:dgram";
import { request } from "node:http";
import { decode, type BencodeDict, type BencodeValue } from "../../src/protocol/bencode.js";

export interface HttpReply {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** A GET (or another method) on its own connection, so nothing lingers after the test. */
export function httpRequest(port: number, path: string, options: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", agent: false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export const escapeBytes = (bytes: Buffer): string => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

export interface AnnounceParams {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly port: number;
  readonly left?: number;
  readonly uploaded?: number;
  readonly downloaded?: number;
  readonly event?: string;
  readonly compact?: "0" | "1";
  readonly noPeerId?: boolean;
  readonly numwant?: number;
  readonly ip?: string;
}

export function announcePath(p: AnnounceParams): string {
  const parts = [
    `info_hash=${escapeBytes(p.infoHash)}`,
    `peer_id=${escapeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded ?? 0}`,
    `downloaded=${p.downloaded ?? 0}`,
    `left=${p.left ?? 1000}`,
  ];
  if (p.event !== undefined) parts.push(`event=${p.event}`);
  if (p.compact !== undefined) parts.push(`compact=${p.compact}`);
  if (p.noPeerId === true) parts.push("no_peer_id=1");
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`);
  if (p.ip !== undefined) parts.push(`ip=${p.ip}`);
  return `/announce?${parts.join("&")}`;
}

export function scrapePath(infoHashes: readonly Buffer[]): string {
  return `/scrape?${infoHashes.map((h) => `info_hash=${escapeBytes(h)}`).join("&")}`;
}

export function bdict(body: Buffer): BencodeDict {
  const value = decode(body);
  if (!(value instanceof Map)) throw new Error(`not a dict: ${body.toString("latin1")}`);
  return value;
}

export async function httpAnnounce(port: number, p: AnnounceParams): Promise<BencodeDict> {
  const reply = await httpRequest(port, announcePath(p));
  if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.body.toString()}`);
  return bdict(reply.body);
}

export function text(value: BencodeValue | undefined): string | undefined {
  return Buffer.isBuffer(value) ? value.toString("utf8") : undefined;
}

/** BEP 23 compact peers as "a.b.c.d:port". */
export function compactPeers(value: BencodeValue | undefined): string[] {
  if (!Buffer.isBuffer(value)) throw new Error("peers is not a byte string");
  const out: string[] = [];
  for (let i = 0; i + 6 <= value.length; i += 6) out.push(`${value[i]}.${value[i + 1]}.${value[i + 2]}.${value[i + 3]}:${value.readUInt16BE(i + 4)}`);
  return out;
}

const PROTOCOL_ID = 0x41727101980n;

export interface UdpAnnounce {
  readonly connectionId: Buffer;
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly port: number;
  readonly left?: bigint;
  /** 0 none, 1 completed, 2 started, 3 stopped. */
  readonly event?: number;
  readonly ip?: number;
  readonly numwant?: number;
}

export function udpAnnouncePacket(transactionId: number, a: UdpAnnounce): Buffer {
  const p = Buffer.alloc(98);
  a.connectionId.copy(p, 0);
  p.writeUInt32BE(1, 8);
  p.writeUInt32BE(transactionId, 12);
  a.infoHash.copy(p, 16);
  a.peerId.copy(p, 36);
  p.writeBigInt64BE(0n, 56);
  p.writeBigInt64BE(a.left ?? 1000n, 64);
  p.writeBigInt64BE(0n, 72);
  p.writeUInt32BE(a.event ?? 0, 80);
  p.writeUInt32BE(a.ip ?? 0, 84);
  p.writeUInt32BE(0, 88);
  p.writeInt32BE(a.numwant ?? -1, 92);
  p.writeUInt16BE(a.port, 96);
  return p;
}

export function udpConnectPacket(transactionId: number): Buffer {
  const p = Buffer.alloc(16);
  p.writeBigUInt64BE(PROTOCOL_ID, 0);
  p.writeUInt32BE(0, 8);
  p.writeUInt32BE(transactionId, 12);
  return p;
}

export function udpScrapePacket(transactionId: number, connectionId: Buffer, infoHashes: readonly Buffer[]): Buffer {
  const p = Buffer.alloc(16 + 20 * infoHashes.length);
  connectionId.copy(p, 0);
  p.writeUInt32BE(2, 8);
  p.writeUInt32BE(transactionId, 12);
  infoHashes.forEach((h, i) => h.copy(p, 16 + 20 * i));
  return p;
}

export type UdpResponse =
  | { readonly action: "connect"; readonly connectionId: Buffer }
  | { readonly action: "announce"; readonly interval: number; readonly leechers: number; readonly seeders: number; readonly peers: string[] }
  | { readonly action: "scrape"; readonly files: { seeders: number; completed: number; leechers: number }[] }
  | { readonly action: "error"; readonly message: string };

export function readUdpResponse(packet: Buffer): UdpResponse {
  const action = packet.readUInt32BE(0);
  switch (action) {
    case 0:
      return { action: "connect", connectionId: Buffer.from(packet.subarray(8, 16)) };
    case 1: {
      const peers: string[] = [];
      for (let i = 20; i + 6 <= packet.length; i += 6) peers.push(`${packet[i]}.${packet[i + 1]}.${packet[i + 2]}.${packet[i + 3]}:${packet.readUInt16BE(i + 4)}`);
      return { action: "announce", interval: packet.readUInt32BE(8), leechers: packet.readUInt32BE(12), seeders: packet.readUInt32BE(16), peers };
    }
    case 2: {
      const files = [];
      for (let i = 8; i + 12 <= packet.length; i += 12) files.push({ seeders: packet.readUInt32BE(i), completed: packet.readUInt32BE(i + 4), leechers: packet.readUInt32BE(i + 8) });
      return { action: "scrape", files };
    }
    case 3:
      return { action: "error", message: packet.toString("utf8", 8) };
    default:
      throw new Error(`unknown action ${action}`);
  }
}

/** One UDP socket on 127.0.0.1; `exchange` sends a packet and waits for the reply with its transaction id. */
export class UdpClient {
  private readonly pending = new Map<number, (reply: Buffer) => void>();
  private nextTid = 1;

  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on("message", (msg: Buffer) => {
      if (msg.length < 8) return;
      const tid = msg.readUInt32BE(4);
      const waiter = this.pending.get(tid);
      if (waiter === undefined) return;
      this.pending.delete(tid);
      waiter(msg);
    });
  }

  static async open(trackerPort: number): Promise<UdpClient> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind({ address: "127.0.0.1", port: 0 }, resolve));
    return new UdpClient(socket, trackerPort);
  }

  tid(): number {
    return this.nextTid++ >>> 0;
  }

  exchange(packet: Buffer, timeoutMs = 3000): Promise<UdpResponse> {
    const tid = packet.readUInt32BE(12);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tid);
        reject(new Error(`no UDP reply to transaction ${tid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(tid, (reply) => {
        clearTimeout(timer);
        resolve(readUdpResponse(reply));
      });
      this.socket.send(packet, this.port, "127.0.0.1");
    });
  }

  /** Sends a packet that should get no answer; resolves with whatever arrives first (or nothing) after a round trip of another request. */
  send(packet: Buffer): void {
    this.socket.send(packet, this.port, "127.0.0.1");
  }

  async connect(): Promise<Buffer> {
    const reply = await this.exchange(udpConnectPacket(this.tid()));
    if (reply.action !== "connect") throw new Error(`connect answered ${JSON.stringify(reply)}`);
    return reply.connectionId;
  }

  close(): void {
    this.socket.close();
  }
}
