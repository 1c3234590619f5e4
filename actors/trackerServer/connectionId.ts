/**
 * BEP 15 connection ids without a table: an id is its issue time (4 bytes, seconds on the
 * runtime clock) and a 4-byte HMAC of that time and the client's address and port under a
 * secret of this tracker's run. So a flood of connects costs no memory, an id works only
 * from the address it was given to (which is the point: a spoofed source never sees it),
 * and it expires `lifetimeMs` after issue. A restarted tracker has a new secret: old ids
 * read as forged and clients connect again, as BEP 15 has them do on any error.
 */
import { createHmac } from "node:crypto";
import type { PeerEndpoint } from "./types.js";

export type ConnectionIdVerdict =
  | { readonly kind: "valid" }
  | { readonly kind: "expired"; readonly ageSeconds: number }
  | { readonly kind: "forged" };

export const CONNECTION_ID_BYTES = 8;

export class ConnectionIds {
  constructor(
    private readonly secret: Buffer,
    private readonly lifetimeMs: number,
  ) {}

  issue(source: PeerEndpoint, nowMs: number): Buffer {
    const id = Buffer.alloc(CONNECTION_ID_BYTES);
    const issuedAt = Math.floor(nowMs / 1000) >>> 0;
    id.writeUInt32BE(issuedAt, 0);
    this.mac(issuedAt, source).copy(id, 4, 0, 4);
    return id;
  }

  check(id: Buffer, source: PeerEndpoint, nowMs: number): ConnectionIdVerdict {
    if (id.length !== CONNECTION_ID_BYTES) return { kind: "forged" };
    const issuedAt = id.readUInt32BE(0);
    if (!this.mac(issuedAt, source).subarray(0, 4).equals(id.subarray(4))) return { kind: "forged" };
    const ageMs = nowMs - issuedAt * 1000;
    if (ageMs < -1000) return { kind: "forged" }; // from the future: not an id we issued on this clock
    if (ageMs > this.lifetimeMs) return { kind: "expired", ageSeconds: Math.floor(ageMs / 1000) };
    return { kind: "valid" };
  }

  private mac(issuedAt: number, source: PeerEndpoint): Buffer {
    const time = Buffer.alloc(4);
    time.writeUInt32BE(issuedAt, 0);
    return createHmac("sha256", this.secret).update(time).update(`${source.ip}|${source.port}`).digest();
  }
}
