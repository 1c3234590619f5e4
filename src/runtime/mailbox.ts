/**
 * A FIFO of messages: a growable ring buffer (power-of-two capacity) allocated on the first
 * message, so an idle actor pays for no slots and a drained burst does not keep a big array.
 */
const INITIAL_CAPACITY = 8;
const SHRINK_ABOVE = 1024;

export class Mailbox {
  private buf: unknown[] | undefined = undefined;
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(msg: unknown): void {
    let buf = this.buf;
    if (buf === undefined) {
      buf = this.buf = new Array<unknown>(INITIAL_CAPACITY);
    } else if (this.count === buf.length) {
      buf = this.grow(buf);
    }
    buf[(this.head + this.count) & (buf.length - 1)] = msg;
    this.count++;
  }

  /** Removes and returns the oldest message; callers check `size` first. */
  shift(): unknown {
    const buf = this.buf as unknown[];
    const msg = buf[this.head];
    buf[this.head] = undefined;
    this.head = (this.head + 1) & (buf.length - 1);
    if (--this.count === 0) {
      this.head = 0;
      if (buf.length > SHRINK_ABOVE) this.buf = undefined;
    }
    return msg;
  }

  /** Removes the messages matching pred (demonitor flush, stale EXIT removal); returns the first removed. */
  removeWhere(pred: (msg: unknown) => boolean): unknown {
    const kept: unknown[] = [];
    let first: unknown = undefined;
    let found = false;
    while (this.count > 0) {
      const msg = this.shift();
      if (pred(msg)) {
        if (!found) first = msg;
        found = true;
      } else kept.push(msg);
    }
    for (const msg of kept) this.push(msg);
    return first;
  }

  /** Messages in order, for introspection. */
  toArray(): unknown[] {
    const out: unknown[] = [];
    const buf = this.buf;
    if (buf === undefined) return out;
    for (let i = 0; i < this.count; i++) out.push(buf[(this.head + i) & (buf.length - 1)]);
    return out;
  }

  clear(): void {
    this.buf = undefined;
    this.head = 0;
    this.count = 0;
  }

  private grow(buf: unknown[]): unknown[] {
    const next = new Array<unknown>(buf.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = buf[(this.head + i) & (buf.length - 1)];
    this.head = 0;
    this.buf = next;
    return next;
  }
}
