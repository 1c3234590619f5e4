/**
 * Admission to the mailbox. Mailboxes are unbounded (as in Erlang), so the socket callbacks
 * count what they put in and the actor counts what it took out: past `capacity` waiting
 * requests, new ones are shed at the door (a datagram dropped, an HTTP 503) instead of
 * queueing without end behind a busy turn.
 */
export type Admission = "admitted" | "shed";

export class RequestGate {
  private waitingNow = 0;
  private shedCount = 0;

  constructor(readonly capacity: number) {}

  admit(): Admission {
    if (this.waitingNow >= this.capacity) {
      this.shedCount++;
      return "shed";
    }
    this.waitingNow++;
    return "admitted";
  }

  /** The actor took one admitted request out of its mailbox. */
  done(): void {
    if (this.waitingNow > 0) this.waitingNow--;
  }

  get waiting(): number {
    return this.waitingNow;
  }

  get shed(): number {
    return this.shedCount;
  }
}
