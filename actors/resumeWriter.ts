/**
 * resume_writer: one per torrent. Saves the torrent's resume file (storage/resume.ts) so a
 * restart after a crash or a stop neither downloads nor re-reads what was verified and
 * written.
 *
 * Guarantees:
 * - It claims only TorrentState.have (pieces hashed AND written: invariant 1), and only
 *   once the start-up check established it (TorrentState.checked). Before that a save
 *   would claim less than the file on disk already does, so it saves nothing.
 * - Every `intervalMs` (default 5 s, on the runtime clock) it saves if the have-set changed
 *   since the last save; one save at a time, off its turn (the write and fsyncs are piped
 *   back as a message), so a slow disk delays saves and never stacks them.
 * - On an orderly stop (it traps exits) terminate waits for a save in flight and saves
 *   once more. torrent_sup starts it first, so it stops last: every sibling (the piece
 *   manager, the file workers) has stopped and no write is still landing when it saves.
 * - A failed save (read-only directory, full disk) is logged, once per distinct error, and
 *   never crashes the torrent: the resume file is an optimisation, the data is the truth.
 * kill -9 runs no terminate: the last periodic save stands, and what was written after it
 * is found again by the start-up check (plan.ts: the files touched since are re-read).
 */
import { log } from "../src/log.js";
import {
  assertNever,
  defineServer,
  noreply,
  ok,
  reply,
  startServer,
  type Ctx,
  type From,
  type Pid,
  type Runtime,
  type StartResult,
} from "../src/runtime/index.js";
import { resumeFileOf, saveResume } from "../src/storage/resume.js";
import type { TorrentState } from "./torrentState.js";

export const DEFAULT_RESUME_INTERVAL_MS = 5_000;

export interface ResumeWriterArgs {
  readonly state: TorrentState;
  /** Default: beside the payload (storage/resume.ts resumeFileOf). */
  readonly file?: string;
  readonly intervalMs?: number;
  /** Wall-clock ms (the save records it next to the files' mtimes); default Date.now. */
  readonly wallClock?: () => number;
}

export interface ResumeWriterStatus {
  /** Saves begun (by the timer or a flush); `saves` + `failures` once none is in flight. */
  readonly started: number;
  readonly saves: number;
  readonly failures: number;
  /** Pieces claimed by the last save that succeeded (undefined: none yet). */
  readonly claimed: number | undefined;
}

type Outcome = { readonly kind: "saved"; readonly snapshot: Buffer; readonly claimed: number } | { readonly kind: "failed"; readonly why: string };

type Call = { readonly t: "flush" } | { readonly t: "status" };
type Info = { readonly t: "tick" } | { readonly t: "done"; readonly outcome: Outcome };

interface WriterState {
  readonly ts: TorrentState;
  readonly file: string;
  readonly wallClock: () => number;
  /** The bitfield bytes the file on disk claims (undefined: not written by this actor yet). */
  lastSaved: Buffer | undefined;
  inFlight: Promise<Outcome> | undefined;
  /** flush callers, answered once no save is in flight and nothing is left to save. */
  readonly flushing: From[];
  started: number;
  saves: number;
  failures: number;
  claimed: number | undefined;
  lastError: string | undefined;
}

/** Pure: whether a save is due now, and why not when it is not. */
type SaveDecision = { readonly kind: "save" } | { readonly kind: "wait"; readonly why: "unchecked" | "busy" | "unchanged" };

function decide(s: WriterState): SaveDecision {
  if (!s.ts.checked) return { kind: "wait", why: "unchecked" };
  if (s.inFlight !== undefined) return { kind: "wait", why: "busy" };
  if (s.lastSaved !== undefined && s.lastSaved.equals(s.ts.have.bytes)) return { kind: "wait", why: "unchanged" };
  return { kind: "save" };
}

/** Starts a save of the have-set as it is now; the promise never rejects. */
function save(s: WriterState): Promise<Outcome> {
  const snapshot = Buffer.from(s.ts.have.bytes);
  const claimed = s.ts.have.count;
  const { meta, paths } = s.ts;
  return saveResume({ file: s.file, meta, paths, have: snapshot, savedAtMs: s.wallClock() }).then(
    (): Outcome => ({ kind: "saved", snapshot, claimed }),
    (err: unknown): Outcome => ({ kind: "failed", why: err instanceof Error ? err.message : String(err) }),
  );
}

function startSave(s: WriterState, ctx: Ctx): void {
  const saving = save(s);
  s.inFlight = saving;
  s.started++;
  ctx.pipe(saving, (outcome) => ({ t: "done", outcome }) satisfies Info);
}

function record(s: WriterState, outcome: Outcome): void {
  switch (outcome.kind) {
    case "saved":
      s.lastSaved = outcome.snapshot;
      s.claimed = outcome.claimed;
      s.saves++;
      s.lastError = undefined;
      return;
    case "failed":
      s.failures++;
      if (outcome.why !== s.lastError) log.warn({ infoHash: s.ts.infoHashHex, file: s.file, why: outcome.why }, "resume data not saved");
      s.lastError = outcome.why;
      return;
    default:
      return assertNever(outcome, "save outcome");
  }
}

const statusOf = (s: WriterState): ResumeWriterStatus => ({ started: s.started, saves: s.saves, failures: s.failures, claimed: s.claimed });

export const resumeWriterBehaviour = defineServer<WriterState, ResumeWriterArgs, Call, never, Info>({
  name: "resume_writer",

  init(args, ctx) {
    const ts = args.state;
    ctx.sendInterval(args.intervalMs ?? DEFAULT_RESUME_INTERVAL_MS, { t: "tick" } satisfies Info);
    return ok({
      ts,
      file: args.file ?? resumeFileOf(ts.meta, ts.paths),
      wallClock: args.wallClock ?? Date.now,
      lastSaved: undefined,
      inFlight: undefined,
      flushing: [],
      started: 0,
      saves: 0,
      failures: 0,
      claimed: undefined,
      lastError: undefined,
    });
  },

  handleCall(req, from, s, ctx) {
    switch (req.t) {
      case "status":
        return reply(statusOf(s), s);
      case "flush": {
        const now = decide(s);
        if (now.kind === "save") startSave(s, ctx);
        if (now.kind === "wait" && now.why !== "busy") return reply(statusOf(s), s);
        s.flushing.push(from);
        return noreply(s);
      }
      default:
        return assertNever(req, "resume_writer call");
    }
  },

  handleInfo(msg, s, ctx) {
    switch (msg.t) {
      case "tick":
        if (decide(s).kind === "save") startSave(s, ctx);
        break;
      case "done": {
        s.inFlight = undefined;
        record(s, msg.outcome);
        // A flush asked while a save was running wants what changed since, saved too.
        if (s.flushing.length > 0 && msg.outcome.kind === "saved" && decide(s).kind === "save") {
          startSave(s, ctx);
          break;
        }
        for (const from of s.flushing.splice(0)) ctx.replyTo(from, statusOf(s));
        break;
      }
      default:
        return assertNever(msg, "resume_writer info");
    }
    return noreply(s);
  },

  async terminate(_reason, s) {
    if (s.inFlight !== undefined) record(s, await s.inFlight);
    s.inFlight = undefined;
    if (decide(s).kind === "save") record(s, await save(s));
  },
});

// ---- API ---------------------------------------------------------------------------------

/**
 * Not registered under a name: when torrent_sup is killed, the old writer still runs its
 * terminate (a last save) while torrent_pool starts the torrent again, and a name would
 * make the new writer's start fail with already_started.
 */
export function startResumeWriter(args: ResumeWriterArgs, runtime?: Runtime): Promise<StartResult> {
  return startServer(resumeWriterBehaviour, args, { trapExit: true, ...(runtime === undefined ? {} : { runtime }) });
}

export const resumeWriter = {
  /** Saves now if anything changed since the last save; resolves once it is on disk (or failed). */
  flush: (rt: Runtime, pid: Pid): Promise<ResumeWriterStatus> => rt.call<ResumeWriterStatus>(pid, { t: "flush" } satisfies Call),
  status: (rt: Runtime, pid: Pid): Promise<ResumeWriterStatus> => rt.call<ResumeWriterStatus>(pid, { t: "status" } satisfies Call),
};
