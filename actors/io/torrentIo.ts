/**
 * TorrentIo: how the piece manager and the peers of a torrent reach its files. Pieces and
 * blocks are cut into file spans (src/storage/layout.ts) and each data span goes to its
 * file's worker (`["file_io", infoHashHex, fileIndex]`); pad spans never touch the disk.
 *
 * Guarantees:
 * - writePiece resolves only after every data span's write returned (invariant 1: a piece
 *   is "have" only once written). It rejects only after every span settled, so nothing of
 *   a failed piece is still being written when the caller hears about it.
 * - readBlock returns exactly `length` bytes; pad spans read as zeros.
 * - A span whose worker is dead or restarting (the call failed with noproc or the
 *   worker's exit reason) is retried after a backoff on the runtime's clock (retry.ts),
 *   so a write interrupted by a worker crash lands once io_sup restarted it. A refusal
 *   (a range bug), a timeout, or a shutdown fails at once.
 * - The piece's bytes are not copied: `data` must stay unchanged until writePiece settled.
 *   Once it resolved, every write of it has returned, a killed worker's stale ones
 *   included (fileSlot.ts orders a restarted worker's open after its predecessor's close).
 * - Arguments are checked here first: a wrong piece, range or data length is a RangeError
 *   before any call.
 * - Callable from inside any actor (pass its Ctx: the calls are its calls) or from outside
 *   with a Runtime.
 */
import { pieceSize, spansOfBlock, spansOfPiece, type PayloadLayout, type Span } from "../../src/storage/layout.js";
import { DEFAULT_IO_TIMEOUT, fileIoName, readAt, writeAt } from "../fileIo.js";
import type { IoCaller } from "./caller.js";
import { DEFAULT_RETRY, withRetry, type RetryEvent, type RetryPolicy } from "./retry.js";

export interface TorrentIoOptions {
  readonly retry?: RetryPolicy;
  /** Timeout of each call to a worker (default DEFAULT_IO_TIMEOUT). */
  readonly callTimeoutMs?: number;
  /** Told before each retry (metrics, logs, tests). */
  readonly onRetry?: (event: RetryEvent) => void;
}

export class TorrentIo {
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(
    private readonly meta: PayloadLayout,
    readonly infoHashHex: string,
    options: TorrentIoOptions = {},
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.timeoutMs = options.callTimeoutMs ?? DEFAULT_IO_TIMEOUT;
    this.onRetry = options.onRetry;
  }

  async writePiece(via: IoCaller, piece: number, data: Buffer): Promise<void> {
    const size = pieceSize(this.meta, piece);
    if (data.length !== size) throw new RangeError(`piece ${piece} is ${size} bytes, got ${data.length}`);
    const writes = dataSpans(spansOfPiece(this.meta, piece)).map((span) => {
      const bytes = data.subarray(span.pieceOffset, span.pieceOffset + span.length);
      return this.withRetry(via, `write piece ${piece} ${describe(span)}`, () =>
        writeAt(via, fileIoName(this.infoHashHex, span.fileIndex), span.fileOffset, bytes, this.timeoutMs),
      );
    });
    await allSettledOrThrow(writes);
  }

  /**
   * `into` (exactly `length` bytes): the block is read into it, and it is what resolves,
   * unless a read had to be retried: an abandoned attempt (a killed worker's pread cannot be
   * called back) may still land in `into` later, so the block then resolves as a copy and
   * the caller must not reuse `into` (ReadAhead drops a buffer that did not come back).
   */
  async readBlock(via: IoCaller, piece: number, begin: number, length: number, into?: Buffer): Promise<Buffer> {
    if (into !== undefined && into.length !== length) throw new RangeError(`readBlock: target of ${into.length} bytes for ${length}`);
    const spans = spansOfBlock(this.meta, piece, begin, length);
    const reads = dataSpans(spans);
    let retried = false;
    // spansOfBlock's pieceOffset is relative to the piece, the block starts at `begin`.
    const read = (span: Span, target?: Buffer): Promise<Buffer> => {
      let attempts = 0;
      return this.withRetry(via, `read piece ${piece} ${describe(span)}`, () => {
        if (++attempts > 1) retried = true;
        return readAt(via, fileIoName(this.infoHashHex, span.fileIndex), span.fileOffset, span.length, this.timeoutMs, target);
      });
    };
    const only = reads[0];
    if (into === undefined) {
      if (reads.length === 1 && spans.length === 1 && only !== undefined) return read(only); // the common case: no copy
      const block = Buffer.alloc(length); // zeros where pad spans are
      await allSettledOrThrow(reads.map((span) => read(span).then((bytes) => void bytes.copy(block, span.pieceOffset - begin))));
      return block;
    }
    for (const span of spans) if (span.kind !== "data") into.fill(0, span.pieceOffset - begin, span.pieceOffset - begin + span.length);
    await allSettledOrThrow(reads.map((span) => read(span, into.subarray(span.pieceOffset - begin, span.pieceOffset - begin + span.length))));
    return retried ? Buffer.from(into) : into;
  }

  private withRetry<T>(via: IoCaller, what: string, attempt: () => Promise<T>): Promise<T> {
    return withRetry(via, what, this.retry, attempt, this.onRetry);
  }
}

function dataSpans(spans: readonly Span[]): Span[] {
  return spans.filter((span) => span.kind === "data");
}

function describe(span: Span): string {
  return `file ${span.fileIndex} [${span.fileOffset}, +${span.length})`;
}

/** Waits for all; then throws the first rejection, if any. */
async function allSettledOrThrow(work: readonly Promise<unknown>[]): Promise<void> {
  const outcomes = await Promise.allSettled(work);
  for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
}
