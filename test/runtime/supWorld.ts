/**
 * A small world of supervised test workers that write what happens to them in one journal:
 * "start:a", "stop:a:shutdown" (terminate ran: they trap exits), so tests can check the
 * order in which a supervisor stops and starts its children.
 */
import {
  defineServer,
  noreply,
  ok,
  Reason,
  startServer,
  stop,
  type ChildSpec,
  type ExitReason,
  type Pid,
  type RestartType,
  type Shutdown,
} from "../../src/runtime/index.js";
import type { Harness } from "./harness.js";

export type WorkerCommand = { readonly exit: ExitReason } | { readonly throw: string };

interface WorkerState {
  readonly id: string;
}

export interface World {
  readonly journal: string[];
  /** Resources adopted by live workers (each worker adopts one and arms one long timer). */
  readonly openResources: () => number;
  /** A child spec for a worker registered as ["w", id]. */
  worker(id: string, options?: { restart?: RestartType; shutdown?: Shutdown; significant?: boolean; hangOnStop?: boolean }): ChildSpec;
  pidOf(id: string): Pid | undefined;
  /** Make worker id exit with reason (by its own stop result). */
  crash(id: string, reason: ExitReason): void;
  /** Journal entries since the last call. */
  take(): string[];
}

export function world(h: Harness): World {
  const journal: string[] = [];
  let mark = 0;
  let open = 0;
  const behaviour = (hangOnStop: boolean) =>
    defineServer<WorkerState, string, unknown, WorkerCommand>({
      name: "worker",
      init: (id, ctx) => {
        ctx.trapExit(true);
        journal.push(`start:${id}`);
        ctx.sendAfter(1e9, "far future");
        open++;
        ctx.adopt({ close: () => void open-- });
        return ok({ id });
      },
      handleCast: (cmd, state) => {
        if ("throw" in cmd) throw new Error(cmd.throw);
        return stop(cmd.exit, state);
      },
      handleInfo: (_msg, state) => noreply(state),
      terminate: (reason, state) => {
        journal.push(`stop:${state.id}:${reason.kind}`);
        return hangOnStop ? new Promise(() => undefined) : undefined;
      },
    });
  const plain = behaviour(false);
  const hanging = behaviour(true);
  return {
    journal,
    openResources: () => open,
    worker: (id, options = {}) => ({
      id,
      start: () => startServer(options.hangOnStop === true ? hanging : plain, id, { name: ["w", id] }),
      restart: options.restart ?? "permanent",
      ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
      ...(options.significant === undefined ? {} : { significant: options.significant }),
    }),
    pidOf: (id) => h.rt.whereis(["w", id]),
    crash: (id, reason) => h.rt.cast(["w", id], reason.kind === "error" ? { throw: String(reason.error) } : { exit: reason }),
    take: () => {
      const out = journal.slice(mark);
      mark = journal.length;
      return out;
    },
  };
}

export const crashReason: ExitReason = Reason.error("boom");
