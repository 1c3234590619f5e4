/**
 * The body of a BEP 3 HTTP announce reply, checked field by field. Guarantees, for any
 * bytes: no throw; a tagged verdict. `failure reason` wins over everything else (BEP 3);
 * a field of the wrong type is `malformed` naming it; a missing `interval` reads as 1800 s
 * (libtorrent's default: several trackers omit it on a first reply); peers are bounded by
 * `maxPeers`. Decoding is iterative with a small depth limit (a reply is
 * flat); its item count is bounded by the body size the client already capped.
 */
import { decode, encode, type BencodeDict, type BencodeEncodable, type BencodeValue } from "../bencode.js";
import { BencodeError } from "../errors.js";
import { addressOf, decodeCompactPeers, decodeDictPeers, encodeCompactPeers, familyOf, type AnswerPeer } from "./peers.js";
import { trackerText } from "./text.js";
import type { AnnounceReply, ScrapeEntry, TrackerPeer } from "./types.js";

export type HttpAnnounceVerdict =
  | { readonly kind: "announced"; readonly reply: AnnounceReply }
  /** The tracker refused (BEP 3 `failure reason`); BEP 31 `retry in` minutes when it says, "never" as Infinity. */
  | { readonly kind: "failure"; readonly reason: string; readonly retryInSec: number | undefined }
  | { readonly kind: "malformed"; readonly where: string; readonly reason: string };

export const DEFAULT_INTERVAL_SEC = 1800;

export interface HttpReplyOptions {
  readonly maxPeers: number;
}

type Field<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function optionalCount(dict: BencodeDict, key: string): Field<number | undefined> {
  const v = dict.get(key);
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== "number" || v < 0) return { ok: false, reason: `${key} must be a non-negative integer` };
  return { ok: true, value: v };
}

function optionalBytes(dict: BencodeDict, key: string): Field<Buffer | undefined> {
  const v = dict.get(key);
  if (v === undefined) return { ok: true, value: undefined };
  if (!Buffer.isBuffer(v)) return { ok: false, reason: `${key} must be a byte string` };
  return { ok: true, value: v };
}

/** BEP 31: `retry in` is minutes (an integer) or the string "never". */
function retryIn(dict: BencodeDict): number | undefined {
  const v = dict.get("retry in");
  if (typeof v === "number" && v >= 0) return v * 60;
  if (Buffer.isBuffer(v) && v.toString("latin1") === "never") return Infinity;
  return undefined;
}

export function parseHttpAnnounce(body: Buffer, options: HttpReplyOptions): HttpAnnounceVerdict {
  let value: BencodeValue;
  try {
    // The body is already bounded by the client (maxBodyBytes): so are its items.
    value = decode(body, { maxDepth: 8 });
  } catch (e) {
    if (e instanceof BencodeError) return { kind: "malformed", where: `body byte ${e.offset}`, reason: e.reason };
    throw e;
  }
  if (!(value instanceof Map)) return { kind: "malformed", where: "body", reason: "not a bencoded dictionary" };
  const dict = value;

  const failure = dict.get("failure reason");
  if (failure !== undefined) {
    if (!Buffer.isBuffer(failure)) return { kind: "malformed", where: "failure reason", reason: "not a byte string" };
    return { kind: "failure", reason: trackerText(failure), retryInSec: retryIn(dict) };
  }

  const interval = optionalCount(dict, "interval");
  if (!interval.ok) return { kind: "malformed", where: "interval", reason: interval.reason };
  const minInterval = optionalCount(dict, "min interval");
  if (!minInterval.ok) return { kind: "malformed", where: "min interval", reason: minInterval.reason };
  const complete = optionalCount(dict, "complete");
  if (!complete.ok) return { kind: "malformed", where: "complete", reason: complete.reason };
  const incomplete = optionalCount(dict, "incomplete");
  if (!incomplete.ok) return { kind: "malformed", where: "incomplete", reason: incomplete.reason };
  const trackerId = optionalBytes(dict, "tracker id");
  if (!trackerId.ok) return { kind: "malformed", where: "tracker id", reason: trackerId.reason };
  const warning = optionalBytes(dict, "warning message");
  if (!warning.ok) return { kind: "malformed", where: "warning message", reason: warning.reason };

  const peers: TrackerPeer[] = [];
  let dropped = 0;
  for (const [key, family] of [["peers", "ipv4"], ["peers6", "ipv6"]] as const) {
    const raw = dict.get(key);
    if (raw === undefined) continue;
    const room = options.maxPeers - peers.length;
    let verdict;
    if (Buffer.isBuffer(raw)) verdict = decodeCompactPeers(raw, family, room);
    else if (Array.isArray(raw) && key === "peers") verdict = decodeDictPeers(raw, room);
    else return { kind: "malformed", where: key, reason: key === "peers" ? "neither a compact string nor a list" : "not a compact string" };
    if (verdict.kind === "malformed") return { kind: "malformed", where: key, reason: verdict.reason };
    peers.push(...verdict.peers);
    dropped += verdict.dropped;
  }

  return {
    kind: "announced",
    reply: {
      intervalSec: interval.value ?? DEFAULT_INTERVAL_SEC,
      minIntervalSec: minInterval.value,
      trackerId: trackerId.value,
      seeders: complete.value,
      leechers: incomplete.value,
      peers,
      peersDropped: dropped,
      warning: warning.value === undefined ? undefined : trackerText(warning.value),
    },
  };
}

// ---- the tracker's side (the embedded tracker, tests playing one) ------------------------

export interface HttpAnnounceAnswer {
  readonly intervalSec: number;
  readonly minIntervalSec?: number;
  readonly trackerId?: Buffer;
  readonly seeders?: number;
  readonly leechers?: number;
  /** Completed downloads the tracker has seen (`downloaded`, as opentracker sends it). */
  readonly downloaded?: number;
  readonly peers: readonly AnswerPeer[];
  readonly warning?: string;
  /**
   * "compact" (BEP 23, IPv6 peers in BEP 7's peers6) or BEP 3's list of dictionaries, whose
   * entries carry `peer id` where the peer has one (a client that sent no_peer_id=1 gets
   * peers without).
   */
  readonly model?: "compact" | "dict";
}

export function encodeHttpAnnounce(answer: HttpAnnounceAnswer): Buffer {
  const dict = new Map<string, BencodeEncodable>([["interval", answer.intervalSec]]);
  if (answer.minIntervalSec !== undefined) dict.set("min interval", answer.minIntervalSec);
  if (answer.trackerId !== undefined) dict.set("tracker id", answer.trackerId);
  if (answer.seeders !== undefined) dict.set("complete", answer.seeders);
  if (answer.leechers !== undefined) dict.set("incomplete", answer.leechers);
  if (answer.downloaded !== undefined) dict.set("downloaded", answer.downloaded);
  if (answer.warning !== undefined) dict.set("warning message", answer.warning);
  if (answer.model === "dict") {
    dict.set("peers", answer.peers.map(dictPeer));
  } else {
    const v4: AnswerPeer[] = [];
    const v6: AnswerPeer[] = [];
    for (const peer of answer.peers) (familyOf(peer) === "ipv4" ? v4 : v6).push(peer);
    dict.set("peers", encodeCompactPeers(v4, "ipv4"));
    if (v6.length > 0) dict.set("peers6", encodeCompactPeers(v6, "ipv6"));
  }
  return encode(dict);
}

function dictPeer(peer: AnswerPeer): Map<string, BencodeEncodable> {
  const { host, port, peerId } = addressOf(peer);
  const dict = new Map<string, BencodeEncodable>([
    ["ip", host],
    ["port", port],
  ]);
  if (peerId !== undefined) dict.set("peer id", peerId);
  return dict;
}

export function encodeHttpFailure(reason: string, retryInMinutes?: number | "never"): Buffer {
  const dict = new Map<string, BencodeEncodable>([["failure reason", reason]]);
  if (retryInMinutes !== undefined) dict.set("retry in", retryInMinutes);
  return encode(dict);
}

export interface HttpScrapeFile extends ScrapeEntry {
  /** 20 bytes. */
  readonly infoHash: Buffer;
}

/** A BEP 48 scrape body: `files`, keyed by raw info-hash, each with complete/downloaded/incomplete. */
export function encodeHttpScrape(files: readonly HttpScrapeFile[]): Buffer {
  const byHash = new Map<string, BencodeEncodable>();
  for (const file of files) {
    byHash.set(
      file.infoHash.toString("latin1"),
      new Map<string, BencodeEncodable>([
        ["complete", file.seeders],
        ["downloaded", file.completed],
        ["incomplete", file.leechers],
      ]),
    );
  }
  return encode(new Map([["files", byHash]]));
}
