/**
 * chaos_monkey: kills actors of one torrent on one node, at seeded random times, the way an
 * operator would with `exit(Pid, kill)`: the victim cannot trap it, its supervisor decides.
 *
 * Guarantees:
 * - Each kind in `kills` is its own Poisson stream (actors/chaos/schedule.ts): the strike
 *   times depend only on (seed, kind, rate) and run on the runtime's clock, so a ManualClock
 *   replays them exactly; due times are absolute, so a slow turn never drifts the schedule.
 * - At a strike the victims are the live actors of that kind, looked up in the registry
 *   (victimsOf); one is drawn uniformly by name, so the same seed and the same live victims
 *   give the same choices. It is killed with Reason.kill and one `kill` ChaosEvent is recorded,
 *   after the kill: every recorded kill is a death that happened (exactly one `exited` with
 *   reason `killed` per event).
 * - A strike that finds no victim (every peer gone, a supervisor between restarts) kills
 *   nothing and records nothing: it is counted as a miss in `chaosMonkey.stats`, so kills +
 *   misses = strikes, and strikes follow the seeded schedule whatever the tree did.
 * - Stopping the monkey cancels its timers (they belong to it); it holds no other resource.
 */
import {
  defineServer,
  noreply,
  ok,
  reply,
  startServer,
  Reason,
  assertNever,
  type Ctx,
  type From,
  type Pid,
  type Runtime,
} from "../src/runtime/index.js";
import { ACTOR_KINDS, type ActorKind, type ChaosEvent, type ChaosSpec } from "../src/swarm/chaosSpec.js";
import { faultStream, pickVictim, type Candidate, type FaultStream } from "./chaos/schedule.js";
import { names } from "./torrentState.js";

export interface ChaosMonkeyArgs {
  /** Label for events. */
  readonly node: string;
  readonly infoHash: string;
  readonly kills: ChaosSpec["kills"];
  /** Deterministic victim choice and timing. */
  readonly seed: number;
  readonly record: (event: ChaosEvent) => void;
}

export interface StrikeCounts {
  readonly kills: number;
  /** Strikes that found no live victim of the kind. */
  readonly misses: number;
}

export type ChaosMonkeyStats = Readonly<Record<ActorKind, StrikeCounts>>;

/** The monkey's registered name: one per torrent per node. */
export function chaosMonkeyName(infoHash: string): readonly ["chaos_monkey", string] {
  return ["chaos_monkey", infoHash];
}

/**
 * The live actors of `kind` for torrent `ih`, named by their registered name without the
 * info-hash ("peer/127.0.0.12:51234", "file_io/0", "piece_mgr", "torrent_sup").
 */
export function victimsOf(runtime: Runtime, ih: string, kind: ActorKind): Candidate<Pid>[] {
  switch (kind) {
    case "peer":
      return named(runtime, runtime.match(["peer", ih, "*"]), "peer", ih);
    case "io":
      return named(runtime, runtime.match(["file_io", ih, "*"]), "file_io", ih);
    case "piece_mgr":
      return single(runtime, names.pieceMgr(ih));
    case "torrent_ctl":
      return single(runtime, names.torrentCtl(ih));
    case "announcer":
      return single(runtime, names.announcer(ih));
    case "torrent":
      return single(runtime, names.torrentSup(ih));
    default:
      return assertNever(kind, "actor kind");
  }
}

function single(runtime: Runtime, name: readonly [string, string]): Candidate<Pid>[] {
  const pid = runtime.whereis(name);
  return pid === undefined || !runtime.isAlive(pid) ? [] : [{ name: name[0], value: pid }];
}

/** Pids registered as [role, ih, key]: named `role/key`. */
function named(runtime: Runtime, pids: readonly Pid[], role: string, ih: string): Candidate<Pid>[] {
  const prefix = `${role}/${ih}/`;
  const out: Candidate<Pid>[] = [];
  for (const pid of pids) {
    const full = runtime.info(pid)?.names.find((n) => n.startsWith(prefix));
    if (full !== undefined && runtime.isAlive(pid)) out.push({ name: `${role}/${full.slice(prefix.length)}`, value: pid });
  }
  return out;
}

interface KindState {
  readonly stream: FaultStream;
  /** The next strike's due time on the runtime clock (absolute). */
  dueAt: number;
  kills: number;
  misses: number;
}

interface MonkeyState {
  readonly args: ChaosMonkeyArgs;
  readonly kinds: Map<ActorKind, KindState>;
}

type Info = { readonly t: "strike"; readonly kind: ActorKind };
type Call = { readonly t: "stats" };

/** What a strike does, decided before anything is killed. */
type Strike = { readonly kind: "kill"; readonly name: string; readonly pid: Pid } | { readonly kind: "miss" };

const monkeyBehaviour = defineServer<MonkeyState, ChaosMonkeyArgs, Call, never, Info>({
  name: "chaos_monkey",

  init(args, ctx) {
    const kinds = new Map<ActorKind, KindState>();
    const start = ctx.runtime.clock.now();
    for (const { kind, perSecond } of args.kills) {
      if (kinds.has(kind)) throw new RangeError(`chaos_monkey: kind ${kind} is given twice`);
      const stream = faultStream(args.seed, `kill/${kind}`, perSecond);
      const k: KindState = { stream, dueAt: start + stream.nextGapMs(), kills: 0, misses: 0 };
      kinds.set(kind, k);
      arm(ctx, kind, k);
    }
    return ok({ args, kinds });
  },

  handleCall(req: Call, _from: From, s) {
    switch (req.t) {
      case "stats":
        return reply(statsOf(s), s);
      default:
        return assertNever(req.t, "chaos_monkey call");
    }
  },

  handleInfo(msg, s, ctx) {
    switch (msg.t) {
      case "strike": {
        const k = s.kinds.get(msg.kind);
        if (k === undefined) return noreply(s);
        execute(s, ctx, msg.kind, k, decide(ctx.runtime, s.args.infoHash, msg.kind, k));
        k.dueAt += k.stream.nextGapMs();
        arm(ctx, msg.kind, k);
        return noreply(s);
      }
      default:
        return assertNever(msg.t, "chaos_monkey message");
    }
  },
});

function decide(runtime: Runtime, ih: string, kind: ActorKind, k: KindState): Strike {
  const choice = pickVictim(k.stream.victim, victimsOf(runtime, ih, kind));
  return choice.kind === "victim" ? { kind: "kill", name: choice.name, pid: choice.value } : { kind: "miss" };
}

function execute(s: MonkeyState, ctx: Ctx, actor: ActorKind, k: KindState, strike: Strike): void {
  switch (strike.kind) {
    case "kill":
      ctx.exit(strike.pid, Reason.kill);
      k.kills++;
      s.args.record({ t: ctx.runtime.clock.now(), kind: "kill", node: s.args.node, actor, name: strike.name });
      return;
    case "miss":
      k.misses++;
      return;
    default:
      return assertNever(strike, "strike");
  }
}

function arm(ctx: Ctx, kind: ActorKind, k: KindState): void {
  ctx.sendAfter(Math.max(0, k.dueAt - ctx.runtime.clock.now()), { t: "strike", kind } satisfies Info);
}

function statsOf(s: MonkeyState): ChaosMonkeyStats {
  const entries = ACTOR_KINDS.map((kind): [ActorKind, StrikeCounts] => {
    const k = s.kinds.get(kind);
    return [kind, { kills: k?.kills ?? 0, misses: k?.misses ?? 0 }];
  });
  return Object.fromEntries(entries) as Record<ActorKind, StrikeCounts>;
}

/**
 * Starts the monkey on `runtime`, unlinked (stop it with runtime.stop(pid), or it goes with
 * its runtime), registered as chaosMonkeyName(infoHash).
 */
export async function startChaosMonkey(runtime: Runtime, args: ChaosMonkeyArgs): Promise<Pid> {
  const started = await startServer(monkeyBehaviour, args, { runtime, link: false, name: chaosMonkeyName(args.infoHash) });
  if (started === "ignore") throw new Error("chaos_monkey: init returned ignore");
  return started;
}

export const chaosMonkey = {
  stats: (runtime: Runtime, pid: Pid): Promise<ChaosMonkeyStats> => runtime.call<ChaosMonkeyStats>(pid, { t: "stats" } satisfies Call),
};
