/** What one announce came to, whichever transport carried it; and an HTTP exchange read as one. */
import { parseHttpAnnounce, type AnnounceReply } from "../../src/protocol/tracker/index.js";
import { assertNever } from "../../src/runtime/index.js";
import type { HttpGetOutcome } from "./httpGet.js";

export type AttemptOutcome =
  | { readonly kind: "answered"; readonly reply: AnnounceReply }
  /** `retryInMs`: how long the tracker asked us to stay away (BEP 31), when it said. */
  | { readonly kind: "failed"; readonly reason: string; readonly retryInMs: number | undefined };

const failed = (reason: string, retryInMs?: number): AttemptOutcome => ({ kind: "failed", reason, retryInMs });

export function httpAttemptOutcome(o: HttpGetOutcome, maxPeers: number): AttemptOutcome {
  if (o.kind === "failed") return failed(o.reason);
  const v = parseHttpAnnounce(o.body, { maxPeers });
  const ok = o.status >= 200 && o.status < 300;
  switch (v.kind) {
    case "announced":
      return ok ? { kind: "answered", reply: v.reply } : failed(`HTTP ${o.status}`);
    case "failure":
      return failed(`tracker: ${v.reason}`, v.retryInSec === undefined ? undefined : v.retryInSec * 1000);
    case "malformed":
      return failed(ok ? `bad reply: ${v.where}: ${v.reason}` : `HTTP ${o.status}`);
    default:
      return assertNever(v, "http announce verdict");
  }
}
