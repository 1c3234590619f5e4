/**
 * The message stream of a link opened only to fetch metadata (BEP 9), after the handshake.
 * We do not know the torrent's geometry yet, so nothing but BEP 10 extended messages is
 * decoded: every other message is skipped by its length without being kept.
 *
 * Guarantees, whatever the peer sends and however it is cut:
 * - bounded memory: an extended message longer than DEFAULT_MAX_EXTENDED_LENGTH is a
 *   violation before any of its body is buffered; an accepted one gets one buffer of its
 *   length once its header is in, filled in place (each byte is copied once, so a message
 *   dripped a byte at a time costs what it costs in one piece); a skipped message costs
 *   nothing;
 * - never throws on input; after a violation it yields nothing more.
 */
import { DEFAULT_MAX_EXTENDED_LENGTH, MessageId } from "../../src/protocol/wire/index.js";

export type MetadataLinkMessage =
  | { readonly type: "extended"; readonly extId: number; readonly payload: Buffer }
  | { readonly type: "violation"; readonly detail: string };

/** Length prefix and message id. */
const HEADER_BYTES = 5;

export class ExtendedFrames {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  /** Bytes still to drop of a message we skip. */
  private skipping = 0;
  /** The body (extended id + payload) of the extended message being received. */
  private body: Buffer | undefined;
  private bodyFill = 0;
  private failed = false;

  /** The extended messages completed by `chunk`, in order (a violation ends the stream). */
  push(chunk: Buffer): MetadataLinkMessage[] {
    const out: MetadataLinkMessage[] = [];
    let at = 0;
    while (at < chunk.length && !this.failed) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, chunk.length - at);
        this.skipping -= n;
        at += n;
        continue;
      }
      const body = this.body;
      if (body !== undefined) {
        const n = chunk.copy(body, this.bodyFill, at);
        this.bodyFill += n;
        at += n;
        if (this.bodyFill === body.length) {
          this.body = undefined;
          out.push({ type: "extended", extId: body[0] as number, payload: body.subarray(1) });
        }
        continue;
      }
      at += this.readHeader(chunk, at, out);
    }
    return out;
  }

  /** Takes header bytes from `chunk` at `at`; returns how many it took. */
  private readHeader(chunk: Buffer, at: number, out: MetadataLinkMessage[]): number {
    const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - at);
    chunk.copy(this.header, this.headerFill, at, at + n);
    this.headerFill += n;
    if (this.headerFill >= 4 && this.header.readUInt32BE(0) === 0) {
      // A keep-alive is only its length: give back a byte taken past it, if any.
      const taken = n - (this.headerFill - 4);
      this.headerFill = 0;
      return taken;
    }
    if (this.headerFill < HEADER_BYTES) return n;
    this.headerFill = 0;
    const length = this.header.readUInt32BE(0);
    if (this.header[4] !== MessageId.extended) {
      this.skipping = length - 1;
      return n;
    }
    if (length < 2 || length > DEFAULT_MAX_EXTENDED_LENGTH) {
      this.failed = true;
      out.push({ type: "violation", detail: `extended message with length ${length} (2..${DEFAULT_MAX_EXTENDED_LENGTH})` });
      return n;
    }
    this.body = Buffer.allocUnsafe(length - 1);
    this.bodyFill = 0;
    return n;
  }
}
