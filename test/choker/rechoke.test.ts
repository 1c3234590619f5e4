/**
 * The choker's pure decision on tables of peer stats: who holds a regular slot and why,
 * the optimistic unchoke (kept, rotated, weighted to newcomers), and the messages that
 * takes. Time and randomness are plain arguments.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chokerConfig, type ChokerOptions } from "../../actors/choker/config.js";
import { rechoke, type PeerStats, type RechokeVerdict, type SlotEvidence, type TorrentMode, type TorrentTable } from "../../actors/choker/rechoke.js";

const NOW = 10_000_000;
/** Connected long ago: not a newcomer. */
const OLD = 0;

function peer(id: number, o: Partial<PeerStats> = {}): PeerStats {
  return { id, key: `10.0.0.${id}:6881`, interested: true, snubbed: false, downRate: 0, upRate: 0, activeSince: OLD + id, unchoked: false, ...o };
}

function table(peers: PeerStats[], o: Partial<TorrentTable> = {}): TorrentTable {
  return { infoHash: "ab".repeat(20), mode: "leeching", peers, optimistic: undefined, ...o };
}

const policy = (o: ChokerOptions = {}) => chokerConfig(o);
const first = () => 0;
const last = () => 0.999;

function slotOf(v: RechokeVerdict, id: number): SlotEvidence {
  const s = v.slots.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no slot for ${id}`);
  return s;
}

const regularIds = (v: RechokeVerdict) => v.slots.filter((s) => s.kind === "regular").map((s) => s.id);
const unchokedAfter = (v: RechokeVerdict) => v.slots.filter((s) => s.kind !== "choked").map((s) => s.id);

describe("regular slots", () => {
  it("leeching: the peers that send us the most, in rank order, with the rate as evidence", () => {
    const rates = [10, 50, 30, 0, 70, 20];
    const peers = rates.map((r, i) => peer(i + 1, { downRate: r, upRate: 1000 - r }));
    const v = rechoke(table(peers), NOW, first, policy());
    expect(v.rankedBy).toBe("downloadRate");
    expect(regularIds(v)).toEqual([5, 2, 3, 6]);
    expect(slotOf(v, 5)).toEqual({ kind: "regular", id: 5, key: "10.0.0.5:6881", rank: 1, by: "downloadRate", rate: 70 });
    expect(slotOf(v, 6)).toMatchObject({ kind: "regular", rank: 4, rate: 20 });
    // The two left: one drawn optimistic, the other outranked.
    const rest = [slotOf(v, 1), slotOf(v, 4)].map((s) => s.kind).sort();
    expect(rest).toEqual(["choked", "optimistic"]);
  });

  it("seeding: the peers we send the most, whatever they send us", () => {
    const peers = [peer(1, { upRate: 5, downRate: 900 }), peer(2, { upRate: 90 }), peer(3, { upRate: 40 }), peer(4, { upRate: 60 }), peer(5, { upRate: 70 }), peer(6, { upRate: 0, downRate: 800 })];
    const v = rechoke(table(peers, { mode: "seeding" }), NOW, first, policy());
    expect(v.rankedBy).toBe("uploadRate");
    expect(regularIds(v)).toEqual([2, 5, 4, 3]);
    expect(slotOf(v, 2)).toMatchObject({ by: "uploadRate", rate: 90 });
  });

  it("the slot count is the limit: 2 slots give 2 regular + 1 optimistic, whatever the crowd", () => {
    const peers = Array.from({ length: 10 }, (_, i) => peer(i + 1, { downRate: (i + 1) * 10 }));
    const v = rechoke(table(peers), NOW, first, policy({ uploadSlots: 2 }));
    expect(regularIds(v)).toEqual([10, 9]);
    expect(v.slots.filter((s) => s.kind === "optimistic")).toHaveLength(1);
    expect(unchokedAfter(v)).toHaveLength(3);
    expect(v.slots.filter((s) => s.kind === "choked" && s.why === "outranked")).toHaveLength(7);
  });

  it("fewer interested peers than slots: all regular, no optimistic candidate", () => {
    const v = rechoke(table([peer(1), peer(2, { interested: false })]), NOW, first, policy());
    expect(regularIds(v)).toEqual([1]);
    expect(v.optimistic).toEqual({ kind: "none", why: "noCandidate" });
  });

  it("a peer that is not interested never takes a slot, however fast; if it was unchoked it is choked", () => {
    const peers = [peer(1, { interested: false, downRate: 1e9, unchoked: true }), peer(2, { interested: false, downRate: 1e8 }), peer(3, { downRate: 1 })];
    const v = rechoke(table(peers), NOW, first, policy());
    expect(regularIds(v)).toEqual([3]);
    expect(slotOf(v, 1)).toMatchObject({ kind: "choked", why: "notInterested" });
    expect(slotOf(v, 2)).toMatchObject({ kind: "choked", why: "notInterested" });
    expect(v.choke).toEqual([{ id: 1, key: "10.0.0.1:6881", why: "notInterested" }]);
    expect(v.unchoke).toEqual([{ id: 3, key: "10.0.0.3:6881", slot: "regular" }]);
  });

  it("a snubbed peer gets no regular slot even at the top rate; it can still be drawn optimistic", () => {
    const peers = [peer(1, { snubbed: true, downRate: 1e6 }), peer(2, { downRate: 1 }), peer(3, { downRate: 2 })];
    const v = rechoke(table(peers), NOW, first, policy({ uploadSlots: 1 }));
    expect(regularIds(v)).toEqual([3]);
    // Candidates by id: [1 (snubbed), 2]; random 0 draws the first.
    expect(slotOf(v, 1)).toMatchObject({ kind: "optimistic" });
    const other = rechoke(table(peers), NOW, last, policy({ uploadSlots: 1 }));
    expect(slotOf(other, 1)).toMatchObject({ kind: "choked", why: "snubbed" });
    expect(slotOf(other, 2)).toMatchObject({ kind: "optimistic" });
  });

  it("ties go to peers already unchoked, then to the longest connected", () => {
    const peers = [peer(1, { activeSince: 500 }), peer(2, { activeSince: 100 }), peer(3, { activeSince: 900, unchoked: true }), peer(4, { activeSince: 300 })];
    const v = rechoke(table(peers), NOW, first, policy({ uploadSlots: 2 }));
    expect(regularIds(v)).toEqual([3, 2]);
  });

  it("tells changes only: a peer already unchoked in a slot hears nothing, a loser that was unchoked is choked", () => {
    const peers = [peer(1, { downRate: 9, unchoked: true }), peer(2, { downRate: 8 }), peer(3, { downRate: 1, unchoked: true }), peer(4, { downRate: 0 })];
    const v = rechoke(table(peers), NOW, last, policy({ uploadSlots: 2 }));
    expect(regularIds(v)).toEqual([1, 2]);
    // Candidates [3, 4]; random near 1 draws 4, so 3 (unchoked before) is choked.
    expect(v.unchoke.map((u) => [u.id, u.slot])).toEqual([
      [2, "regular"],
      [4, "optimistic"],
    ]);
    expect(v.choke).toEqual([{ id: 3, key: "10.0.0.3:6881", why: "outranked" }]);
  });
});

describe("the optimistic unchoke", () => {
  const crowd = () => [peer(1, { downRate: 9 }), peer(2), peer(3), peer(4)];
  const opts = { uploadSlots: 1 };

  it("is kept until 30 s passed, then rotated to another candidate", () => {
    const t0 = rechoke(table(crowd()), NOW, first, policy(opts));
    expect(t0.optimistic).toMatchObject({ kind: "drawn", id: 2, why: "first", since: NOW, candidates: 3 });
    const optimistic = { id: 2, since: NOW };
    const unchoked = (ps: PeerStats[]) => ps.map((p) => (p.id === 1 || p.id === 2 ? { ...p, unchoked: true } : p));
    for (const dt of [10_000, 20_000, 29_999]) {
      const v = rechoke(table(unchoked(crowd()), { optimistic }), NOW + dt, first, policy(opts));
      expect(v.optimistic).toEqual({ kind: "kept", id: 2, since: NOW });
      expect(v.unchoke).toEqual([]);
      expect(v.choke).toEqual([]);
    }
    const v = rechoke(table(unchoked(crowd()), { optimistic }), NOW + 30_000, first, policy(opts));
    expect(v.optimistic).toMatchObject({ kind: "drawn", id: 3, why: "rotation", since: NOW + 30_000, candidates: 2 });
    expect(v.unchoke).toEqual([{ id: 3, key: "10.0.0.3:6881", slot: "optimistic" }]);
    expect(v.choke).toEqual([{ id: 2, key: "10.0.0.2:6881", why: "outranked" }]);
  });

  it("rotation with one candidate draws it again", () => {
    const v = rechoke(table([peer(1, { downRate: 5 }), peer(2)], { optimistic: { id: 2, since: 0 } }), NOW, last, policy(opts));
    expect(v.optimistic).toMatchObject({ kind: "drawn", id: 2, why: "rotation", candidates: 1 });
  });

  it("is drawn again at once when its peer left, lost interest or won a regular slot", () => {
    const since = NOW - 1000;
    const gone = rechoke(table(crowd(), { optimistic: { id: 7, since } }), NOW, first, policy(opts));
    expect(gone.optimistic).toMatchObject({ kind: "drawn", why: "previousGone" });
    const bored = rechoke(table(crowd().map((p) => (p.id === 2 ? { ...p, interested: false } : p)), { optimistic: { id: 2, since } }), NOW, first, policy(opts));
    expect(bored.optimistic).toMatchObject({ kind: "drawn", id: 3, why: "previousNotInterested" });
    const promoted = rechoke(table(crowd().map((p) => (p.id === 2 ? { ...p, downRate: 99 } : p)), { optimistic: { id: 2, since } }), NOW, first, policy(opts));
    expect(regularIds(promoted)).toEqual([2]);
    expect(promoted.optimistic).toMatchObject({ kind: "drawn", why: "previousPromoted" });
    expect(promoted.optimistic.kind === "drawn" && promoted.optimistic.id).not.toBe(2);
  });

  it("a peer connected for less than a minute weighs 3 in the draw", () => {
    const peers = [peer(1, { downRate: 9 }), peer(2, { activeSince: OLD }), peer(3, { activeSince: NOW - 59_999 })];
    // Weights by id: 2 -> 1, 3 -> 3; total 4. r < 1/4 draws 2, the rest 3.
    expect(rechoke(table(peers), NOW, () => 0.24, policy(opts)).optimistic).toMatchObject({ id: 2, newcomer: false, weight: 1, totalWeight: 4 });
    expect(rechoke(table(peers), NOW, () => 0.25, policy(opts)).optimistic).toMatchObject({ id: 3, newcomer: true, weight: 3, totalWeight: 4 });
    // Over a uniform sweep of the random source, the newcomer wins three times in four.
    let newcomer = 0;
    for (let i = 0; i < 1000; i++) if (slotOf(rechoke(table(peers), NOW, () => i / 1000, policy(opts)), 3).kind === "optimistic") newcomer++;
    expect(newcomer).toBe(750);
    // At exactly a minute it is no longer new.
    const aged = rechoke(table(peers), NOW + 1, () => 0.5, policy(opts));
    expect(aged.optimistic).toMatchObject({ totalWeight: 2 });
  });

  it("a random source outside [0, 1) still picks a candidate", () => {
    for (const r of [-1, 1, 7, Number.NaN]) {
      const v = rechoke(table([peer(1, { downRate: 9 }), peer(2), peer(3)]), NOW, () => r, policy(opts));
      expect(v.optimistic.kind).toBe("drawn");
    }
  });
});

describe("the datacenter profile", () => {
  it("unchokes every interested peer up to 64, snubbed or not, first come first served, no optimistic", () => {
    const peers = Array.from({ length: 70 }, (_, i) => peer(i + 1, { activeSince: 1000 + i, downRate: i % 3 === 0 ? 0 : 5000 - i, snubbed: i === 0 }));
    peers.push(peer(100, { interested: false }));
    const v = rechoke(table(peers), NOW, first, policy({ profile: "datacenter" }));
    expect(v.rankedBy).toBe("arrival");
    expect(v.optimistic).toEqual({ kind: "none", why: "datacenter" });
    expect(regularIds(v)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(slotOf(v, 1)).toMatchObject({ kind: "regular" });
    expect(v.slots.filter((s) => s.kind === "choked" && s.why === "slotLimit").map((s) => s.id)).toEqual([65, 66, 67, 68, 69, 70]);
    expect(slotOf(v, 100)).toMatchObject({ kind: "choked", why: "notInterested" });
    expect(v.unchoke).toHaveLength(64);
  });

  it("keeps the peers already unchoked when the slots are full", () => {
    const peers = [peer(1), peer(2), peer(3, { unchoked: true, activeSince: 99 })];
    const v = rechoke(table(peers), NOW, first, policy({ profile: "datacenter", uploadSlots: 2 }));
    expect(regularIds(v)).toEqual([3, 1]);
    expect(v.unchoke.map((u) => u.id)).toEqual([1]);
  });
});

describe("invariants (property)", () => {
  const peerArb = fc.record({
    interested: fc.boolean(),
    snubbed: fc.boolean(),
    downRate: fc.nat(1e6),
    upRate: fc.nat(1e6),
    activeSince: fc.integer({ min: NOW - 120_000, max: NOW }),
    unchoked: fc.boolean(),
  });
  const input = fc.record({
    peers: fc.array(peerArb, { maxLength: 30 }),
    mode: fc.constantFrom<TorrentMode>("leeching", "seeding"),
    profile: fc.constantFrom("default" as const, "datacenter" as const),
    slots: fc.integer({ min: 1, max: 8 }),
    optimistic: fc.option(fc.record({ id: fc.integer({ min: 1, max: 32 }), since: fc.integer({ min: NOW - 60_000, max: NOW }) }), { nil: undefined }),
    r: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });

  it("one outcome per peer; unchoked <= slots (+1 optimistic); only interested peers unchoked; messages are exactly the changes", () => {
    fc.assert(
      fc.property(input, ({ peers, mode, profile, slots, optimistic, r }) => {
        const ps = peers.map((p, i) => ({ ...p, id: i + 1, key: `k${i + 1}` }));
        const v = rechoke(table(ps, { mode, optimistic }), NOW, () => r, policy({ profile, uploadSlots: slots }));
        expect(v.slots.map((s) => s.id).sort((a, b) => a - b)).toEqual(ps.map((p) => p.id));
        const after = new Set(unchokedAfter(v));
        expect(after.size).toBeLessThanOrEqual(slots + (profile === "default" ? 1 : 0));
        for (const p of ps) {
          if (after.has(p.id)) expect(p.interested).toBe(true);
          const s = slotOf(v, p.id);
          if (s.kind === "regular" && profile === "default") expect(p.snubbed).toBe(false);
          expect(v.unchoke.some((u) => u.id === p.id)).toBe(after.has(p.id) && !p.unchoked);
          expect(v.choke.some((c) => c.id === p.id)).toBe(!after.has(p.id) && p.unchoked);
        }
        // As many regular slots as there are eligible peers, up to the limit.
        const eligible = ps.filter((p) => p.interested && (profile === "datacenter" || !p.snubbed)).length;
        expect(regularIds(v)).toHaveLength(Math.min(slots, eligible));
      }),
      { numRuns: 300 },
    );
  });
});
