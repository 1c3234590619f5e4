/**
 * A bounded HTTP(S) GET for tracker announces. Guarantees:
 * - never rejects: every failure (refused, reset, timeout, too large, too many redirects,
 *   abort) is a `failed` outcome with a reason;
 * - memory: a body is refused as soon as its Content-Length, or the bytes received so far,
 *   exceed `maxBodyBytes`; the socket is destroyed then, so the rest is never read;
 * - at most `maxRedirects` redirects (301/302/303/307/308), http and https only;
 * - one deadline for the whole exchange (redirects included) on the given clock;
 * - no keep-alive pool: each request's socket is closed when it ends, and `signal` aborts
 *   whatever is in flight (the announcer aborts on exit).
 */
import http from "node:http";
import https from "node:https";
import type { Clock } from "../../src/runtime/index.js";

export interface HttpGetOptions {
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Address to send from (a node's own 127.x.y.z). */
  readonly localAddress?: string;
  readonly signal?: AbortSignal;
}

export type HttpGetOutcome =
  | { readonly kind: "response"; readonly status: number; readonly body: Buffer; readonly url: string }
  | { readonly kind: "failed"; readonly reason: string };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = "swarmsup/0.1";

type Hop =
  | { readonly kind: "done"; readonly outcome: HttpGetOutcome }
  | { readonly kind: "redirect"; readonly to: string };

export async function httpGet(url: string, opts: HttpGetOptions): Promise<HttpGetOutcome> {
  const deadline = new AbortController();
  const timer = opts.clock.setTimer(opts.timeoutMs, () => deadline.abort());
  const onAbort = (): void => deadline.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const hop = await fetchOnce(current, opts, deadline.signal);
      if (hop.kind === "done") return hop.outcome;
      if (redirects >= opts.maxRedirects) return { kind: "failed", reason: `more than ${opts.maxRedirects} redirects (last to ${hop.to})` };
      current = hop.to;
    }
  } catch (err) {
    if (deadline.signal.aborted) {
      return { kind: "failed", reason: opts.signal?.aborted === true ? "aborted" : `no answer within ${opts.timeoutMs} ms` };
    }
    return { kind: "failed", reason: err instanceof Error ? err.message : String(err) };
  } finally {
    opts.clock.clearTimer(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

function fetchOnce(url: string, opts: HttpGetOptions, signal: AbortSignal): Promise<Hop> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ kind: "done", outcome: { kind: "failed", reason: `bad URL ${url}` } });
  }
  const client = target.protocol === "https:" ? https : target.protocol === "http:" ? http : undefined;
  if (client === undefined) return Promise.resolve({ kind: "done", outcome: { kind: "failed", reason: `redirect to unsupported scheme ${target.protocol}` } });

  return new Promise<Hop>((resolve, reject) => {
    const req = client.get(target, {
      agent: false,
      signal,
      headers: { "user-agent": USER_AGENT, "accept-encoding": "identity", connection: "close" },
      ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
    });
    const fail = (reason: string): void => {
      resolve({ kind: "done", outcome: { kind: "failed", reason } });
      req.destroy();
    };
    req.on("error", reject);
    req.on("response", (res) => {
      res.on("error", reject);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        res.resume();
        let to: string;
        try {
          to = new URL(location, target).href;
        } catch {
          fail(`redirect to a bad location ${JSON.stringify(location.slice(0, 200))}`);
          return;
        }
        resolve({ kind: "redirect", to });
        req.destroy();
        return;
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
        fail(`body of ${declared} bytes exceeds the ${opts.maxBodyBytes}-byte limit`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBodyBytes) {
          chunks.length = 0;
          fail(`body exceeds the ${opts.maxBodyBytes}-byte limit`);
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ kind: "done", outcome: { kind: "response", status, body: Buffer.concat(chunks, size), url } }));
    });
  });
}
