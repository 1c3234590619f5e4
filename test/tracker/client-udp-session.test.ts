import { describe, expect, it } from "vitest";
import { udpBegin, udpOnReply, udpOnTimeout, type UdpStep, type UdpTiming } from "../../actors/announcer/udpSession.js";
import { decodeUdpRequest, encodeAnnounceReply, encodeConnectReply, encodeErrorReply, type AnnounceRequest } from "../../src/protocol/tracker/index.js";

const t: UdpTiming = { retransmitBaseMs: 15_000, maxRetransmits: 8, connectionTtlMs: 60_000 };
const req: AnnounceRequest = {
  infoHash: Buffer.alloc(20, 1),
  peerId: Buffer.alloc(20, 2),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 5,
  event: "started",
  numwant: 50,
  key: 1,
};
const conn = Buffer.from("aabbccddeeff0011", "hex");

function sent(step: UdpStep) {
  if (step.kind !== "send") throw new Error(`expected a send, got ${step.kind}`);
  return { ...step, decoded: decodeUdpRequest(step.packet) };
}

describe("BEP 15 announce steps", () => {
  it("connects first, then announces with the connection id it got", () => {
    const first = sent(udpBegin(undefined, req, 0, t, 11));
    expect(first.decoded).toEqual({ kind: "connect", txid: 11 });
    expect(first.timeoutMs).toBe(15_000);
    const after = udpOnReply(first.txn, encodeConnectReply(11, conn), req, 5, t, 12, 50);
    expect(after.connection).toEqual({ id: conn, at: 5 });
    expect(sent(after.step).decoded).toMatchObject({ kind: "announce", connectionId: conn, txid: 12, request: req });
  });

  it("reuses a connection id for 60 s, then connects again", () => {
    expect(sent(udpBegin({ id: conn, at: 0 }, req, 59_999, t, 1)).decoded.kind).toBe("announce");
    expect(sent(udpBegin({ id: conn, at: 0 }, req, 60_000, t, 1)).decoded.kind).toBe("connect");
  });

  it("retransmits after 15 x 2^n s for n up to 8 with the same transaction id, then fails", () => {
    let step = udpBegin(undefined, req, 0, t, 7);
    const waits: number[] = [];
    while (step.kind === "send") {
      waits.push(step.timeoutMs);
      expect(step.txn.txid).toBe(7);
      step = udpOnTimeout(step.txn, undefined, req, 0, t);
    }
    expect(waits).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => 15_000 * 2 ** n));
    expect(step).toEqual({ kind: "failed", reason: "no connect reply after 9 attempts" });
  });

  it("goes back to connect when the connection id expires during announce retransmissions", () => {
    const a = sent(udpBegin({ id: conn, at: 0 }, req, 50_000, t, 3));
    const again = sent(udpOnTimeout(a.txn, { id: conn, at: 0 }, req, 55_000, t));
    expect(again.decoded.kind).toBe("announce");
    const expired = sent(udpOnTimeout(again.txn, { id: conn, at: 0 }, req, 80_000, t));
    expect(expired.decoded).toEqual({ kind: "connect", txid: 3 });
    expect(expired.txn).toEqual({ txid: 3, phase: "connect", n: 2 });
  });

  it("ignores datagrams of other transactions, fails on a tracker error or a wrong reply", () => {
    const c = sent(udpBegin(undefined, req, 0, t, 21));
    expect(udpOnReply(c.txn, encodeConnectReply(22, conn), req, 0, t, 23, 50).step.kind).toBe("ignored");
    expect(udpOnReply(c.txn, encodeErrorReply(21, "whitelist"), req, 0, t, 23, 50).step).toEqual({ kind: "failed", reason: "tracker error: whitelist" });
    expect(udpOnReply(c.txn, encodeAnnounceReply(21, { intervalSec: 1, leechers: 0, seeders: 0, peers: [] }), req, 0, t, 23, 50).step.kind).toBe("failed");
  });

  it("ends with the tracker's answer", () => {
    const a = sent(udpBegin({ id: conn, at: 0 }, req, 0, t, 31));
    const peers = [{ host: "127.0.0.1", port: 7000 }];
    const out = udpOnReply(a.txn, encodeAnnounceReply(31, { intervalSec: 120, leechers: 1, seeders: 2, peers }), req, 0, t, 32, 50);
    expect(out.step).toMatchObject({ kind: "announced", reply: { intervalSec: 120, leechers: 1, seeders: 2, peers } });
  });
});
