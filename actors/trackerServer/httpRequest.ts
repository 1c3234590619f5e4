/**
 * HTTP tracker requests (BEP 3 announce, BEP 48 scrape) from the facts of one request:
 * method, target, whether a body was declared, who sent it. Total: every input gives a
 * verdict. Tracker paths answer bad parameters with a `failure reason` (HTTP 200, as
 * clients expect); anything that is not a tracker request gets an HTTP error status.
 */
import { chooseEndpoint } from "./endpoint.js";
import type { TrackerLimits } from "./limits.js";
import { parseTarget } from "./query.js";
import type { AnnounceEvent, AnnounceRequest, PeerEndpoint, ScrapeRequest } from "./types.js";

export interface HttpRequestFacts {
  readonly method: string | undefined;
  readonly target: string | undefined;
  /** Content-Length or Transfer-Encoding, as sent (a tracker request has no body). */
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
  /** The connection's remote address; its port is replaced by the announced one. */
  readonly source: PeerEndpoint;
}

/** BEP 23 compact strings, or BEP 3's list of dicts (with or without `peer id`). */
export type PeerListFormat = "compact" | "dictionary" | "dictionaryNoPeerId";

export type HttpVerdict =
  | { readonly kind: "announce"; readonly request: AnnounceRequest; readonly format: PeerListFormat }
  | { readonly kind: "scrape"; readonly request: ScrapeRequest }
  | { readonly kind: "failure"; readonly reason: string }
  | { readonly kind: "httpError"; readonly status: 404 | 405 | 413 | 414; readonly reason: string };

type Params = ReadonlyMap<string, readonly Buffer[]>;
type Field<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const EVENTS: ReadonlyMap<string, AnnounceEvent> = new Map([
  ["", "none"],
  ["started", "started"],
  ["completed", "completed"],
  ["stopped", "stopped"],
  ["paused", "paused"],
]);

/** A proxy's absolute-form target (`http://host:port/announce?...`) names the same path. */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

export function parseHttpRequest(facts: HttpRequestFacts, limits: TrackerLimits): HttpVerdict {
  const raw = facts.target ?? "";
  if (facts.method !== "GET") return { kind: "httpError", status: 405, reason: `method ${String(facts.method)} not allowed: a tracker answers GET` };
  if (raw.length > limits.maxUrlBytes) return { kind: "httpError", status: 414, reason: `request target longer than ${limits.maxUrlBytes} bytes` };
  const target = raw.replace(ABSOLUTE_FORM, "");
  const hasBody = (facts.contentLength !== undefined && facts.contentLength !== "0") || facts.transferEncoding !== undefined;
  if (hasBody) return { kind: "httpError", status: 413, reason: "a tracker request has no body" };
  const query = parseTarget(target, limits.maxQueryParams);
  if (query.kind === "invalid") {
    return isTrackerPath(target.split("?")[0] ?? "") ? { kind: "failure", reason: query.reason } : notFound(target);
  }
  switch (query.path) {
    case "/announce":
      return announce(query.params, facts.source);
    case "/scrape":
      return scrape(query.params, limits);
    default:
      return notFound(query.path);
  }
}

function isTrackerPath(path: string): boolean {
  return path === "/announce" || path === "/scrape";
}

function notFound(path: string): HttpVerdict {
  return { kind: "httpError", status: 404, reason: `${JSON.stringify(path.slice(0, 64))} is not a tracker path (/announce, /scrape)` };
}

function announce(params: Params, source: PeerEndpoint): HttpVerdict {
  const infoHash = bytes20(params, "info_hash");
  if (!infoHash.ok) return { kind: "failure", reason: infoHash.reason };
  const peerId = bytes20(params, "peer_id");
  if (!peerId.ok) return { kind: "failure", reason: peerId.reason };
  const numbers = requiredIntegers(params, ["port", "uploaded", "downloaded", "left"] as const);
  if (!numbers.ok) return { kind: "failure", reason: numbers.reason };
  const { port, uploaded, downloaded, left } = numbers.value;
  if (port < 1 || port > 65535) return { kind: "failure", reason: `invalid port ${port} (1-65535)` };
  const numwant = optionalInteger(params, "numwant");
  if (!numwant.ok) return { kind: "failure", reason: numwant.reason };
  const eventText = single(params, "event")?.toString("latin1") ?? "";
  const event = EVENTS.get(eventText);
  if (event === undefined) return { kind: "failure", reason: `unknown event ${JSON.stringify(eventText.slice(0, 32))}` };
  const claimedIp = single(params, "ip")?.toString("latin1");
  return {
    kind: "announce",
    request: {
      infoHash: infoHash.value.toString("hex"),
      peerId: peerId.value,
      endpoint: chooseEndpoint({ ...source, port }, claimedIp),
      uploaded,
      downloaded,
      left,
      event,
      numwant: numwant.value,
    },
    format: formatOf(params),
  };
}

function formatOf(params: Params): PeerListFormat {
  if (single(params, "compact")?.toString("latin1") !== "0") return "compact";
  return single(params, "no_peer_id")?.toString("latin1") === "1" ? "dictionaryNoPeerId" : "dictionary";
}

function scrape(params: Params, limits: TrackerLimits): HttpVerdict {
  const values = params.get("info_hash") ?? [];
  if (values.length === 0) return { kind: "failure", reason: "full scrape is not served: name info_hash(es)" };
  if (values.length > limits.maxScrapeHashes) return { kind: "failure", reason: `more than ${limits.maxScrapeHashes} info_hash values in one scrape` };
  const infoHashes: string[] = [];
  for (const value of values) {
    if (value.length !== 20) return { kind: "failure", reason: `invalid info_hash: ${value.length} bytes, expected 20` };
    infoHashes.push(value.toString("hex"));
  }
  return { kind: "scrape", request: { infoHashes } };
}

function single(params: Params, name: string): Buffer | undefined {
  return params.get(name)?.[0];
}

function bytes20(params: Params, name: string): Field<Buffer> {
  const values = params.get(name);
  if (values === undefined) return { ok: false, reason: `missing ${name}` };
  if (values.length > 1) return { ok: false, reason: `${name} given ${values.length} times` };
  const value = values[0] as Buffer;
  if (value.length !== 20) return { ok: false, reason: `invalid ${name}: ${value.length} bytes, expected 20` };
  return { ok: true, value };
}

/** Each named parameter as a number; the first one missing or bad is the reason. */
function requiredIntegers<N extends string>(params: Params, names: readonly N[]): Field<Record<N, number>> {
  const out = {} as Record<N, number>;
  for (const name of names) {
    const field = optionalInteger(params, name);
    if (!field.ok) return field;
    if (field.value === undefined) return { ok: false, reason: `missing ${name}` };
    out[name] = field.value;
  }
  return { ok: true, value: out };
}

/** A non-negative decimal integer within 2^53-1, or undefined when absent. */
function optionalInteger(params: Params, name: string): Field<number | undefined> {
  const value = single(params, name);
  if (value === undefined) return { ok: true, value: undefined };
  const text = value.toString("latin1");
  if (!/^\d{1,16}$/.test(text)) return { ok: false, reason: `invalid ${name} ${JSON.stringify(text.slice(0, 32))}: expected a non-negative integer` };
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return { ok: false, reason: `invalid ${name}: ${text} is beyond 2^53-1` };
  return { ok: true, value: n };
}
