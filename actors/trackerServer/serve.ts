/**
 * One request in, one answer out: parse (httpRequest / udpPacket), decide (SwarmTable),
 * encode (httpReply / udpPacket). No sockets here: the actor writes what these return, and
 * tests call them with plain values. Every answer names its outcome for the counters.
 */
import type { ConnectionIds } from "./connectionId.js";
import { announceBody, failureBody, scrapeBody } from "./httpReply.js";
import { parseHttpRequest, type HttpRequestFacts, type PeerListFormat } from "./httpRequest.js";
import type { TrackerLimits } from "./limits.js";
import { refusalMessage, type AnnounceVerdict, type ScrapeVerdict, type SwarmTable } from "./swarmTable.js";
import type { PeerEndpoint } from "./types.js";
import { announceReply, connectReply, errorReply, parseUdpRequest, scrapeReply } from "./udpPacket.js";

/** announced/scraped/connected: served; refused: a limit or private mode; failed: bad input; rejected: not a tracker request; dropped: no answer. */
export type Outcome = "announced" | "scraped" | "connected" | "refused" | "failed" | "rejected" | "dropped";

export const OUTCOMES: readonly Outcome[] = ["announced", "scraped", "connected", "refused", "failed", "rejected", "dropped"];

export interface ServeContext {
  readonly table: SwarmTable;
  readonly limits: TrackerLimits;
  readonly ids: ConnectionIds;
  /** ms on the runtime clock. */
  readonly now: number;
}

export interface HttpAnswer {
  readonly status: 200 | 404 | 405 | 413 | 414;
  readonly body: Buffer;
  readonly outcome: Outcome;
}

export type UdpAnswer =
  | { readonly kind: "reply"; readonly packet: Buffer; readonly outcome: Outcome }
  | { readonly kind: "silence"; readonly reason: string; readonly outcome: "dropped" };

export function answerHttp(facts: HttpRequestFacts, c: ServeContext): HttpAnswer {
  const verdict = parseHttpRequest(facts, c.limits);
  switch (verdict.kind) {
    case "announce":
      return httpAnnounce(c.table.announce(verdict.request, c.now), verdict.format, c.limits);
    case "scrape":
      return httpScrape(c.table.scrape(verdict.request.infoHashes));
    case "failure":
      return { status: 200, body: failureBody(verdict.reason), outcome: "failed" };
    case "httpError":
      return { status: verdict.status, body: Buffer.from(`${verdict.reason}\n`), outcome: "rejected" };
    default: {
      const unreachable: never = verdict;
      throw new Error(`tracker: unexpected HTTP verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

function httpAnnounce(verdict: AnnounceVerdict, format: PeerListFormat, limits: TrackerLimits): HttpAnswer {
  switch (verdict.kind) {
    case "joined":
    case "updated":
      return { status: 200, body: announceBody(verdict.counts, verdict.peers, format, limits), outcome: "announced" };
    case "left":
      return { status: 200, body: announceBody(verdict.counts, [], format, limits), outcome: "announced" };
    case "refused":
      return { status: 200, body: failureBody(refusalMessage(verdict.refusal)), outcome: "refused" };
    default: {
      const unreachable: never = verdict;
      throw new Error(`tracker: unexpected announce verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

function httpScrape(verdict: ScrapeVerdict): HttpAnswer {
  switch (verdict.kind) {
    case "scraped":
      return { status: 200, body: scrapeBody(verdict.files), outcome: "scraped" };
    case "refused":
      return { status: 200, body: failureBody(refusalMessage(verdict.refusal)), outcome: "refused" };
    default: {
      const unreachable: never = verdict;
      throw new Error(`tracker: unexpected scrape verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

export function answerUdp(packet: Buffer, source: PeerEndpoint, c: ServeContext): UdpAnswer {
  const verdict = parseUdpRequest(packet, source, c.limits);
  switch (verdict.kind) {
    case "dropped":
      return { kind: "silence", reason: verdict.reason, outcome: "dropped" };
    case "connect":
      return { kind: "reply", packet: connectReply(verdict.transactionId, c.ids.issue(source, c.now)), outcome: "connected" };
    case "invalid":
      // Only a client that completed the connect handshake (its address is real) gets told why.
      if (c.ids.check(verdict.connectionId, source, c.now).kind !== "valid") return { kind: "silence", reason: verdict.reason, outcome: "dropped" };
      return { kind: "reply", packet: errorReply(verdict.transactionId, verdict.reason), outcome: "failed" };
    case "announce":
    case "scrape": {
      const id = c.ids.check(verdict.connectionId, source, c.now);
      switch (id.kind) {
        case "valid":
          return verdict.kind === "announce"
            ? udpAnnounce(verdict.transactionId, c.table.announce(verdict.request, c.now), source, c.limits)
            : udpScrape(verdict.transactionId, c.table.scrape(verdict.request.infoHashes));
        case "expired":
          return { kind: "reply", packet: errorReply(verdict.transactionId, `connection id expired (${id.ageSeconds} s old)`), outcome: "failed" };
        case "forged":
          return { kind: "reply", packet: errorReply(verdict.transactionId, "unknown connection id"), outcome: "failed" };
        default: {
          const unreachable: never = id;
          throw new Error(`tracker: unexpected connection id verdict ${JSON.stringify(unreachable)}`);
        }
      }
    }
    default: {
      const unreachable: never = verdict;
      throw new Error(`tracker: unexpected UDP verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

function udpAnnounce(transactionId: number, verdict: AnnounceVerdict, source: PeerEndpoint, limits: TrackerLimits): UdpAnswer {
  switch (verdict.kind) {
    case "joined":
    case "updated":
      return { kind: "reply", packet: announceReply(transactionId, limits.intervalSeconds, verdict.counts, verdict.peers, source.family), outcome: "announced" };
    case "left":
      return { kind: "reply", packet: announceReply(transactionId, limits.intervalSeconds, verdict.counts, [], source.family), outcome: "announced" };
    case "refused":
      return { kind: "reply", packet: errorReply(transactionId, refusalMessage(verdict.refusal)), outcome: "refused" };
    default: {
      const unreachable: never = verdict;
      throw new Error(`tracker: unexpected announce verdict ${JSON.stringify(unreachable)}`);
    }
  }
}

function udpScrape(transactionId: number, verdict: ScrapeVerdict): UdpAnswer {
  switch (verdict.kind) {
    case "scraped":
      return { kind: "reply", packet: scrapeReply(transactionId, verdict.files), outcome: "scraped" };
    case "refused":
      return { kind: "reply", packet: errorReply(transactionId, refusalMessage(verdict.refusal)), outcome: "refused" };
    default: {
      const unreachable: never = verdict;
      throw new Error(`tracker: unexpected scrape verdict ${JSON.stringify(unreachable)}`);
    }
  }
}
