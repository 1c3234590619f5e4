/**
 * chaos_monkey on a ManualClock against a probe tree of the real shape: strikes follow the
 * seeded Poisson schedule exactly (and its counts sit within the Poisson spread of
 * rate x time), every recorded kill is a death that happened and is followed by the
 * supervisor's restart, a strike with no victim is a miss and records nothing, the same
 * seed picks the same victims, and a stopped monkey strikes no more.
 */
import { afterEach, describe, expect, it } from "vitest";
import { advance, ManualClock, Reason, Runtime, type Pid, type RuntimeEvent } from "../../src/runtime/index.js";
import { log } from "../../src/log.js";
import { chaosMonkey, startChaosMonkey, victimsOf } from "../../actors/chaos.js";
import { deriveSeed, faultTimes, pickVictim } from "../../actors/chaos/schedule.js";
import type { ChaosEvent, ChaosSpec } from "../../src/swarm/chaosSpec.js";
import { startProbeTree, type ProbeTree } from "./probeTree.js";

log.level = "silent";

const IH = "ab".repeat(20);

type Entry = { readonly src: "chaos"; readonly event: ChaosEvent } | { readonly src: "runtime"; readonly event: RuntimeEvent };

interface World {
  readonly runtime: Runtime;
  readonly clock: ManualClock;
  readonly tree: ProbeTree;
  /** Chaos events and runtime events, in the order they happened. */
  readonly entries: Entry[];
  readonly chaos: () => Extract<ChaosEvent, { kind: "kill" }>[];
  readonly start: (kills: ChaosSpec["kills"], seed: number) => Promise<Pid>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    for (const pid of w.runtime.pids()) w.runtime.exit(pid, Reason.kill);
  }
});

async function world(files: number, peers: readonly string[] = []): Promise<World> {
  const clock = new ManualClock();
  const runtime = new Runtime({ clock, label: "monkey-test" });
  const tree = await startProbeTree(runtime, IH, files);
  for (const addr of peers) await tree.addPeer(addr);
  const entries: Entry[] = [];
  runtime.subscribe((event) => entries.push({ src: "runtime", event }));
  const w: World = {
    runtime,
    clock,
    tree,
    entries,
    chaos: () => entries.flatMap((e) => (e.src === "chaos" && e.event.kind === "kill" ? [e.event] : [])),
    start: (kills, seed) =>
      startChaosMonkey(runtime, {
        node: "n1",
        infoHash: IH,
        kills,
        seed,
        record: (event) => {
          // Recorded after the kill: the victim's name is already free.
          if (event.kind === "kill") expect(victimsOf(runtime, IH, event.actor).some((c) => c.name === event.name)).toBe(false);
          entries.push({ src: "chaos", event });
        },
      }),
  };
  worlds.push(w);
  return w;
}

describe("chaos_monkey", () => {
  it("strikes follow the seeded schedule; each kill is a death, followed by its supervisor's restart", async () => {
    const w = await world(3);
    const seed = 7;
    const horizon = 60_000;
    const kills = [
      { kind: "io", perSecond: 5 },
      { kind: "piece_mgr", perSecond: 1 },
      { kind: "torrent_ctl", perSecond: 0.5 },
      { kind: "announcer", perSecond: 0.5 },
      { kind: "torrent", perSecond: 0.2 },
    ] as const;
    expect(w.clock.now()).toBe(0);
    const pid = await w.start(kills, seed);
    await advance(w.clock, horizon);

    const stats = await chaosMonkey.stats(w.runtime, pid);
    for (const { kind, perSecond } of kills) {
      const scheduled = faultTimes(seed, `kill/${kind}`, perSecond, horizon);
      // Exactly the seeded schedule, to the millisecond, with no strike missing its victim.
      expect(w.chaos().filter((e) => e.actor === kind).map((e) => e.t)).toEqual(scheduled);
      expect(stats[kind]).toEqual({ kills: scheduled.length, misses: 0 });
      // And a Poisson count: within 4 standard deviations of rate x time.
      const mean = (perSecond * horizon) / 1000;
      expect(Math.abs(scheduled.length - mean)).toBeLessThanOrEqual(4 * Math.sqrt(mean));
    }
    expect(stats.peer).toEqual({ kills: 0, misses: 0 });

    // Every kill is followed, before the next kill, by a restart of that child.
    const entries = w.entries;
    let checked = 0;
    entries.forEach((entry, i) => {
      if (entry.src !== "chaos" || entry.event.kind !== "kill") return;
      const nextKill = entries.findIndex((e, j) => j > i && e.src === "chaos");
      const window = entries.slice(i + 1, nextKill < 0 ? undefined : nextKill);
      // The tree's child ids are the names kill events carry (file_io/N, piece_mgr, torrent_sup...).
      const wanted = entry.event.name;
      expect(window.some((e) => e.src === "runtime" && e.event.type === "restarted" && e.event.childId === wanted && e.event.pid !== undefined)).toBe(true);
      checked++;
    });
    expect(checked).toBe(w.chaos().length);
    expect(checked).toBeGreaterThan(300);
    // The restarted tree is whole again.
    for (const kind of ["io", "piece_mgr", "torrent_ctl", "announcer", "torrent"] as const) expect(victimsOf(w.runtime, IH, kind).length).toBeGreaterThan(0);
  });

  it("peers are killed until none is left, then strikes are misses that record nothing", async () => {
    const peers = ["127.0.0.2:6881", "127.0.0.3:6881", "127.0.0.4:7000", "127.0.0.5:6881", "127.0.0.6:1", "127.0.0.7:65535"];
    const w = await world(1, peers);
    const pid = await w.start([{ kind: "peer", perSecond: 1 }], 11);
    await advance(w.clock, 30_000);
    const scheduled = faultTimes(11, "kill/peer", 1, 30_000);
    expect(scheduled.length).toBeGreaterThan(peers.length);

    const killed = w.chaos().map((e) => e.name);
    expect([...killed].sort()).toEqual(peers.map((p) => `peer/${p}`).sort());
    expect(await chaosMonkey.stats(w.runtime, pid)).toMatchObject({ peer: { kills: peers.length, misses: scheduled.length - peers.length } });
    expect(victimsOf(w.runtime, IH, "peer")).toEqual([]);
    // A temporary child: never restarted.
    expect(w.entries.some((e) => e.src === "runtime" && e.event.type === "restarted" && e.event.childId === "peer")).toBe(false);
  });

  it("the same seed and the same live victims give the same kills; another seed, others", async () => {
    const peers = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}:6881`);
    const kills: ChaosSpec["kills"] = [
      { kind: "peer", perSecond: 2 },
      { kind: "io", perSecond: 3 },
    ];
    const run = async (seed: number): Promise<string[]> => {
      const w = await world(4, peers);
      await w.start(kills, seed);
      await advance(w.clock, 10_000);
      return w.chaos().map((e) => `${e.t.toFixed(3)} ${e.name}`);
    };
    const first = await run(42);
    expect(first.length).toBeGreaterThan(20);
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
  });

  it("a stopped monkey strikes no more (its timers die with it)", async () => {
    const w = await world(2);
    const pid = await w.start([{ kind: "io", perSecond: 10 }], 5);
    await advance(w.clock, 1000);
    const before = w.chaos().length;
    expect(before).toBeGreaterThan(0);
    await w.runtime.stop(pid);
    await advance(w.clock, 10_000);
    expect(w.chaos().length).toBe(before);
    expect(w.clock.pending).toBe(0);
  });
});

describe("chaos schedule (pure)", () => {
  it("derived seeds differ by label and by seed", () => {
    const seeds = new Set(["kill/peer", "kill/io", "net/reset", "net/stall"].flatMap((label) => [1, 2, 3].map((s) => deriveSeed(s, label))));
    expect(seeds.size).toBe(12);
  });

  it("pickVictim draws nothing from an empty set and chooses by name, not by order given", () => {
    let draws = 0;
    const random = (): number => {
      draws++;
      return 0.99;
    };
    expect(pickVictim(random, [])).toEqual({ kind: "none" });
    expect(draws).toBe(0);
    const choice = pickVictim(random, [
      { name: "b", value: 2 },
      { name: "c", value: 3 },
      { name: "a", value: 1 },
    ]);
    expect(choice).toEqual({ kind: "victim", name: "c", value: 3 });
    expect(draws).toBe(1);
  });

  it("long-run rate: mean gap is 1/rate", () => {
    const times = faultTimes(3, "kill/io", 4, 1_000_000);
    const mean = 4 * 1000;
    expect(Math.abs(times.length - mean)).toBeLessThan(4 * Math.sqrt(mean));
  });
});
