/**
 * One BEP 15 announce as pure steps: connect (unless a connection id younger than its
 * lifetime is at hand), then announce; retransmit after base x 2^n for n = 0..maxN, the
 * same transaction id each time (so a late answer still counts); a connection id that
 * expires while an announce is being retransmitted sends us back to connect.
 *
 * Every function returns the next step; the actor sends packets and arms timers.
 */
import {
  decodeUdpReply,
  encodeAnnounce,
  encodeConnect,
  type AnnounceReply,
  type AnnounceRequest,
} from "../../src/protocol/tracker/index.js";

export interface UdpTiming {
  /** BEP 15: 15 s. */
  readonly retransmitBaseMs: number;
  /** BEP 15: 8 (the last wait is 15 x 2^8 s). */
  readonly maxRetransmits: number;
  /** BEP 15: a connection id may be used for one minute. */
  readonly connectionTtlMs: number;
}

export const BEP15_TIMING: UdpTiming = Object.freeze({ retransmitBaseMs: 15_000, maxRetransmits: 8, connectionTtlMs: 60_000 });

export interface UdpConnection {
  readonly id: Buffer;
  /** When the tracker gave it (runtime clock, ms). */
  readonly at: number;
}

export interface UdpTxn {
  readonly txid: number;
  readonly phase: "connect" | "announce";
  /** Retransmissions so far (BEP 15's n). */
  readonly n: number;
}

export type UdpStep =
  | { readonly kind: "send"; readonly txn: UdpTxn; readonly packet: Buffer; readonly timeoutMs: number }
  | { readonly kind: "announced"; readonly reply: AnnounceReply }
  | { readonly kind: "failed"; readonly reason: string }
  /** A datagram that does not answer this transaction: keep waiting. */
  | { readonly kind: "ignored"; readonly reason: string };

const timeoutFor = (n: number, t: UdpTiming): number => t.retransmitBaseMs * 2 ** n;

export function usableConnection(conn: UdpConnection | undefined, now: number, t: UdpTiming): conn is UdpConnection {
  return conn !== undefined && now - conn.at < t.connectionTtlMs;
}

function send(phase: UdpTxn["phase"], txid: number, n: number, conn: UdpConnection | undefined, req: AnnounceRequest, t: UdpTiming): UdpStep {
  const packet = phase === "connect" || conn === undefined ? encodeConnect(txid) : encodeAnnounce(conn.id, txid, req);
  return { kind: "send", txn: { txid, phase: conn === undefined ? "connect" : phase, n }, packet, timeoutMs: timeoutFor(n, t) };
}

/** The first packet of an announce. */
export function udpBegin(conn: UdpConnection | undefined, req: AnnounceRequest, now: number, t: UdpTiming, txid: number): UdpStep {
  return usableConnection(conn, now, t) ? send("announce", txid, 0, conn, req, t) : send("connect", txid, 0, undefined, req, t);
}

export interface ReplyOutcome {
  readonly step: UdpStep;
  /** A connection id the tracker just gave (keep it for the next announces). */
  readonly connection: UdpConnection | undefined;
}

/** A datagram from the tracker while `txn` waits. `nextTxid` numbers the announce after a connect. */
export function udpOnReply(txn: UdpTxn, packet: Buffer, req: AnnounceRequest, now: number, t: UdpTiming, nextTxid: number, maxPeers: number): ReplyOutcome {
  const v = decodeUdpReply(packet, { txid: txn.txid, action: txn.phase, maxPeers });
  switch (v.kind) {
    case "stray":
      return { step: { kind: "ignored", reason: v.reason }, connection: undefined };
    case "error":
      return { step: { kind: "failed", reason: `tracker error: ${v.message}` }, connection: undefined };
    case "malformed":
      return { step: { kind: "failed", reason: `bad ${txn.phase} reply: ${v.reason}` }, connection: undefined };
    case "connected": {
      const connection = { id: v.connectionId, at: now };
      return { step: send("announce", nextTxid, 0, connection, req, t), connection };
    }
    case "announced":
      return { step: { kind: "announced", reply: v.reply }, connection: undefined };
    case "scraped":
      return { step: { kind: "failed", reason: "scrape reply to an announce" }, connection: undefined };
  }
}

/** No answer within the wait for retransmission n: send again, or give up after maxRetransmits. */
export function udpOnTimeout(txn: UdpTxn, conn: UdpConnection | undefined, req: AnnounceRequest, now: number, t: UdpTiming): UdpStep {
  if (txn.n >= t.maxRetransmits) {
    return { kind: "failed", reason: `no ${txn.phase} reply after ${txn.n + 1} attempts` };
  }
  const n = txn.n + 1;
  if (txn.phase === "announce" && !usableConnection(conn, now, t)) return send("connect", txn.txid, n, undefined, req, t);
  return send(txn.phase, txn.txid, n, txn.phase === "announce" ? conn : undefined, req, t);
}
