/**
 * The message stream of a link opened only to fetch metadata (BEP 9), after the handshake.
 * We do not know the torrent's geometry yet, so nothing but BEP 10 extended messages is
 * decoded: every other message is skipped by its length without being kept.
 *
 * Guarantees: bounded memory whatever the peer sends -- an extended message longer than
 * DEFAULT_MAX_EXTENDED_LENGTH is a violation before any of it is buffered, and a skipped
 * message costs no memory at all; never throws on input.
 */
import { DEFAULT_MAX_EXTENDED_LENGTH } from "../../src/protocol/wire/frame.js";
import { MessageId } from "../../src/protocol/wire/types.js";

export type MetadataLinkMessage =
  | { readonly type: "extended"; readonly extId: number; readonly payload: Buffer }
  | { readonly type: "violation"; readonly detail: string };

export class ExtendedFrames {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of a message being skipped that have not arrived yet. */
  private skipping = 0;
  private failed = false;

  /** The extended messages completed by `chunk`, in order (a violation ends the stream). */
  push(chunk: Buffer): MetadataLinkMessage[] {
    if (this.failed) return [];
    let input = chunk;
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, input.length);
      this.skipping -= skipped;
      input = input.subarray(skipped);
    }
    let buf = this.pending.length === 0 ? input : Buffer.concat([this.pending, input]);
    const out: MetadataLinkMessage[] = [];
    let at = 0;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32BE(at);
      if (length === 0) {
        at += 4; // keep-alive
        continue;
      }
      if (buf.length - at < 5) break;
      const id = buf[at + 4];
      if (id !== MessageId.extended) {
        const available = buf.length - at - 4;
        if (available >= length) {
          at += 4 + length;
          continue;
        }
        this.skipping = length - available;
        at = buf.length;
        break;
      }
      if (length < 2 || length > DEFAULT_MAX_EXTENDED_LENGTH) {
        this.failed = true;
        out.push({ type: "violation", detail: `extended message with length ${length} (2..${DEFAULT_MAX_EXTENDED_LENGTH})` });
        return out;
      }
      if (buf.length - at < 4 + length) break;
      out.push({ type: "extended", extId: buf[at + 5] as number, payload: buf.subarray(at + 6, at + 4 + length) });
      at += 4 + length;
    }
    buf = buf.subarray(at);
    // Keep only the unfinished message's bytes (a copy, so the chunk it came from can go).
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    return out;
  }
}
