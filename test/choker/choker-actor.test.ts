/**
 * The choker actor on a ManualClock, with probe actors standing in for peers: the test
 * writes their reports and reads what the choker told them. Rounds every 10 s, the
 * optimistic rotation every 30 s, the rechoke at once on an interest change and on the
 * DOWN of a peer that held a slot, registration (monitor, report cadence, adopted state).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Reason, Runtime, advance, settle, type Pid } from "../../src/runtime/index.js";
import { CHOKER, choker, startChoker, type ChokerOptions, type PeerReport, type RechokeEvent } from "../../actors/choker.js";
import { log } from "../../src/log.js";

log.level = "silent";

const IH = "cd".repeat(20);

interface Probe {
  readonly pid: Pid;
  readonly heard: unknown[];
  readonly key: string;
}

interface World {
  readonly rt: Runtime;
  readonly clock: ManualClock;
  readonly events: RechokeEvent[];
  probe(n: number): Probe;
  report(p: Probe, o?: Partial<PeerReport>): Promise<void>;
  /** What the probe heard since the last call, choke/unchoke only. */
  said(p: Probe): string[];
  unchoked(): Promise<string[]>;
}

const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) {
    const pid = rt.whereis(CHOKER);
    if (pid !== undefined) await rt.stop(pid, Reason.shutdown());
  }
});

async function world(options: ChokerOptions = {}): Promise<World> {
  const clock = new ManualClock(1_000_000);
  const rt = new Runtime({ clock, label: "choker-test" });
  runtimes.push(rt);
  const events: RechokeEvent[] = [];
  await startChoker({ random: () => 0, ...options, onRechoke: (e) => void events.push(e) }, rt);
  const cursor = new Map<Probe, number>();
  return {
    rt,
    clock,
    events,
    probe(n) {
      const heard: unknown[] = [];
      const pid = rt.spawn((msg) => void heard.push(msg), { behaviour: "probe" });
      return { pid, heard, key: `10.0.0.${n}:6881` };
    },
    async report(p, o = {}) {
      const msg: PeerReport = {
        t: "report",
        pid: p.pid,
        infoHash: IH,
        key: p.key,
        mode: "leeching",
        interested: true,
        snubbed: false,
        downRate: 0,
        upRate: 0,
        activeSince: 0,
        unchoked: false,
        ...o,
      };
      rt.cast(CHOKER, msg);
      await settle();
    },
    said(p) {
      const from = cursor.get(p) ?? 0;
      cursor.set(p, p.heard.length);
      return p.heard
        .slice(from)
        .map((m) => (m as { type: string }).type)
        .filter((t) => t === "choke" || t === "unchoke");
    },
    async unchoked() {
      const s = await choker.status(rt);
      return (s.torrents.find((t) => t.infoHash === IH)?.peers ?? []).filter((p) => p.unchoked).map((p) => p.key).sort();
    },
  };
}

describe("choker actor", () => {
  it("registers a peer on its first report: monitors it, tells it the report cadence, unchokes it at once if interested", async () => {
    const w = await world({ reportMs: 1500 });
    const a = w.probe(1);
    await w.report(a);
    expect(a.heard).toEqual([{ type: "reportEvery", ms: 1500 }, { type: "unchoke" }]);
    expect(w.rt.info(w.rt.whereis(CHOKER) as Pid)?.monitors).toBe(1);
    expect(w.events.at(-1)?.cause).toBe("interest");
    // Later reports do not register it again.
    await w.report(a, { downRate: 5 });
    expect(a.heard).toHaveLength(2);
  });

  it("rechokes every 10 s on the runtime clock: new rates take effect at the round, not before", async () => {
    const w = await world({ uploadSlots: 2 });
    const ps = [1, 2, 3, 4, 5].map((n) => w.probe(n));
    for (const p of ps) await w.report(p, { activeSince: w.clock.now() - 120_000 });
    // Ties: the first two registered hold regular slots, random 0 drew the third as optimistic.
    expect(await w.unchoked()).toEqual([ps[0], ps[1], ps[2]].map((p) => p!.key).sort());
    for (const p of ps) w.said(p);
    const roundsBefore = w.events.filter((e) => e.cause === "round").length;

    // Peers 4 and 5 now send us the most; no interest changed, so nothing moves yet.
    await w.report(ps[3]!, { downRate: 900, activeSince: w.clock.now() - 120_000 });
    await w.report(ps[4]!, { downRate: 800, activeSince: w.clock.now() - 120_000 });
    await advance(w.clock, 9_000);
    expect(ps.flatMap((p) => w.said(p))).toEqual([]);

    await advance(w.clock, 1_000);
    expect(w.events.filter((e) => e.cause === "round").length).toBe(roundsBefore + 1);
    expect(w.said(ps[3]!)).toEqual(["unchoke"]);
    expect(w.said(ps[4]!)).toEqual(["unchoke"]);
    // The optimistic peer (3) is kept; 1 and 2 lost their regular slots.
    expect(w.said(ps[0]!)).toEqual(["choke"]);
    expect(w.said(ps[1]!)).toEqual(["choke"]);
    expect(w.said(ps[2]!)).toEqual([]);
    const last = w.events.at(-1)!.verdict;
    expect(last.slots.filter((s) => s.kind === "regular").map((s) => s.key)).toEqual([ps[3]!.key, ps[4]!.key]);
  });

  it("rotates the optimistic unchoke every 30 s (kept across the 10 s and 20 s rounds)", async () => {
    const w = await world({ uploadSlots: 1 });
    const ps = [1, 2, 3, 4].map((n) => w.probe(n));
    for (const p of ps) await w.report(p, { activeSince: w.clock.now() - 120_000, downRate: p === ps[0] ? 100 : 0 });
    const optimisticAt = async () => (await choker.status(w.rt)).torrents[0]?.optimistic;
    const first = await optimisticAt();
    expect(first).toBeDefined();
    const startedAt = first!.since;
    await advance(w.clock, 10_000);
    expect(await optimisticAt()).toEqual(first);
    await advance(w.clock, 10_000);
    expect(await optimisticAt()).toEqual(first);
    // The first draw happened when the peers registered (t0); the round at t0 + 30 s rotates.
    await advance(w.clock, 30_000 - (w.clock.now() - startedAt) - 1);
    expect(await optimisticAt()).toEqual(first);
    await advance(w.clock, 10_000);
    const rotated = await optimisticAt();
    expect(rotated?.id).not.toBe(first!.id);
    const event = w.events.find((e) => e.verdict.optimistic.kind === "drawn" && e.verdict.optimistic.why === "rotation");
    expect(event?.cause).toBe("round");
  });

  it("rechokes at once when a peer's interest changes", async () => {
    const w = await world({ uploadSlots: 1 });
    const [a, b, c] = [w.probe(1), w.probe(2), w.probe(3)];
    await w.report(a!, { downRate: 50 });
    await w.report(b!);
    await w.report(c!);
    expect(await w.unchoked()).toEqual([a!.key, b!.key].sort());
    w.said(a!);
    w.said(b!);
    w.said(c!);
    // a loses interest: it is choked and c takes a slot, with no clock advance.
    await w.report(a!, { interested: false, downRate: 50 });
    expect(w.said(a!)).toEqual(["choke"]);
    expect(await w.unchoked()).toEqual([b!.key, c!.key].sort());
    expect(w.events.at(-1)?.cause).toBe("interest");
    // A rate change alone waits for the round.
    const n = w.events.length;
    await w.report(c!, { downRate: 1 });
    expect(w.events.length).toBe(n);
  });

  it("a peer's DOWN removes it; if it held a slot the slot is given away at once", async () => {
    const w = await world({ uploadSlots: 1 });
    const [a, b, c] = [w.probe(1), w.probe(2), w.probe(3)];
    await w.report(a!, { downRate: 50 });
    await w.report(b!);
    await w.report(c!);
    w.said(c!);
    const n = w.events.length;
    // c holds nothing: its death is bookkeeping only.
    w.rt.exit(c!.pid, Reason.kill);
    await settle();
    expect(w.events.length).toBe(n);
    expect((await choker.status(w.rt)).torrents[0]?.peers.map((p) => p.key)).toEqual([a!.key, b!.key]);
    // a held the regular slot: b (optimistic) is promoted at once; nobody else is left to draw.
    const d = w.probe(4);
    await w.report(d);
    w.said(d);
    w.rt.exit(a!.pid, Reason.kill);
    await settle();
    expect(w.events.at(-1)?.cause).toBe("peerGone");
    expect(await w.unchoked()).toEqual([b!.key, d.key].sort());
    // Every peer gone: the torrent is forgotten.
    w.rt.exit(b!.pid, Reason.kill);
    w.rt.exit(d.pid, Reason.kill);
    await settle();
    expect((await choker.status(w.rt)).torrents).toEqual([]);
  });

  it("adopts what a registering peer does (a restarted choker starts from the truth), and fixes it at the round", async () => {
    const w = await world();
    const a = w.probe(1);
    await w.report(a, { interested: false, unchoked: true });
    expect(await w.unchoked()).toEqual([a.key]);
    expect(w.said(a)).toEqual([]);
    await advance(w.clock, 10_000);
    expect(w.said(a)).toEqual(["choke"]);
  });

  it("seeding torrents rank by our upload rate; the mode follows the latest report", async () => {
    const w = await world({ uploadSlots: 1 });
    const [a, b, c] = [w.probe(1), w.probe(2), w.probe(3)];
    for (const p of [a!, b!, c!]) await w.report(p, { mode: "seeding", activeSince: w.clock.now() - 120_000, upRate: p === c ? 10 : 0, downRate: p === a ? 99 : 0 });
    await advance(w.clock, 10_000);
    const v = w.events.at(-1)!.verdict;
    expect(v.rankedBy).toBe("uploadRate");
    expect(v.slots[0]).toMatchObject({ kind: "regular", key: c!.key });
  });

  it("drops a malformed report without registering it or crashing", async () => {
    const w = await world();
    const a = w.probe(1);
    await w.report(a, { downRate: Number.NaN });
    await w.report(a, { mode: "bogus" as "seeding" });
    expect(a.heard).toEqual([]);
    expect((await choker.status(w.rt)).torrents).toEqual([]);
    expect(w.rt.whereis(CHOKER)).toBeDefined();
  });

  it("refuses nonsensical options before starting", async () => {
    const rt = new Runtime({ clock: new ManualClock(), label: "choker-bad" });
    await expect(startChoker({ uploadSlots: 0 }, rt)).rejects.toThrow(/uploadSlots/);
    await expect(startChoker({ profile: "lan" as "default" }, rt)).rejects.toThrow(/profile/);
    expect(rt.whereis(CHOKER)).toBeUndefined();
  });
});
