/** Process identifiers and unique references. */
import type { Proc } from "./proc.js";

/**
 * A process identifier. Compare pids with `===` (one Pid object per process). A Pid outlives
 * its process: sending to the Pid of a dead process is a no-op, as in Erlang.
 */
export class Pid {
  /** @internal The live process, cleared when it exits so a stale Pid retains nothing. */
  proc: Proc | undefined;

  constructor(
    /** The runtime ("node") the process lives on. */
    readonly node: number,
    /** Unique within its node, increasing in spawn order. */
    readonly id: number,
    proc: Proc,
  ) {
    this.proc = proc;
  }

  toString(): string {
    return `<${this.node}.${this.id}>`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** A unique reference (monitors, calls), unique across every runtime of the process. */
export type Ref = number & { readonly __ref: true };

let lastRef = 0;

export function makeRef(): Ref {
  return ++lastRef as Ref;
}
