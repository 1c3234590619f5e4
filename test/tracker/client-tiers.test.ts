import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  backoffMs,
  buildTiers,
  eventFor,
  findTracker,
  nextTracker,
  recordAnswer,
  recordFailure,
  startedTrackers,
  type Tiers,
} from "../../actors/announcer/tiers.js";
import { announceKey, bytesLeft, reannounceDelay, selectPeers } from "../../actors/announcer/schedule.js";
import { Bitfield } from "../../src/protocol/wire/bitfield.js";

const noShuffle = (): number => 0.999999; // Fisher-Yates with j = i keeps the order
const hrefs = (tiers: Tiers): string[][] => tiers.map((t) => t.map((e) => e.url.href));
const policy = { baseMs: 1000, maxMs: 60_000 };
const answered = { event: "none" as const, left: 10, trackerId: undefined, warning: undefined };

describe("BEP 12 tiers", () => {
  it("keeps usable URLs in tier order, drops duplicates and empty tiers, reports the rest", () => {
    const built = buildTiers([["http://a/ann", "udp://b:80", "http://a/ann"], ["ftp://x/"], [], ["http://c/ann", "udp://b:80"]], noShuffle);
    expect(hrefs(built.tiers)).toEqual([["http://a/ann", "udp://b:80"], ["http://c/ann"]]);
    expect(built.rejected).toEqual([{ href: "ftp://x/", reason: "unsupported scheme ftp:" }]);
  });

  it("shuffles within a tier only, and every order is reachable", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(fc.nat(999).map((n) => n / 1000), { minLength: 4, maxLength: 4 }), (rolls) => {
        let i = 0;
        const tiers = buildTiers([["http://a/", "http://b/", "http://c/"], ["http://d/", "http://e/"]], () => rolls[i++ % rolls.length] ?? 0).tiers;
        expect([...(hrefs(tiers)[0] ?? [])].sort()).toEqual(["http://a/", "http://b/", "http://c/"]);
        expect([...(hrefs(tiers)[1] ?? [])].sort()).toEqual(["http://d/", "http://e/"]);
        seen.add((hrefs(tiers)[0] ?? []).join());
      }),
      { numRuns: 300 },
    );
    expect(seen.size).toBe(6);
  });

  it("asks the first tracker of the first tier, then the next one due after failures", () => {
    let tiers = buildTiers([["http://a/", "http://b/"], ["http://c/"]], noShuffle).tiers;
    const table: [string, number, string][] = [
      // [who fails, at, then who is asked]
      ["http://a/", 0, "http://b/"],
      ["http://b/", 0, "http://c/"],
    ];
    expect(nextTracker(tiers, 0)).toMatchObject({ kind: "try", entry: { url: { href: "http://a/" } } });
    for (const [failing, at, next] of table) {
      tiers = recordFailure(tiers, failing, "refused", at, policy).tiers;
      expect(nextTracker(tiers, at)).toMatchObject({ kind: "try", entry: { url: { href: next } } });
    }
    tiers = recordFailure(tiers, "http://c/", "refused", 0, policy).tiers;
    expect(nextTracker(tiers, 0)).toEqual({ kind: "wait", at: 1000 });
    // At 1000 every back-off has passed: the first tier comes first again.
    expect(nextTracker(tiers, 1000)).toMatchObject({ kind: "try", entry: { url: { href: "http://a/" } } });
  });

  it("moves a tracker that answers to the front of its tier, leaving other tiers alone", () => {
    const tiers = buildTiers([["http://a/", "http://b/", "http://c/"], ["http://d/", "http://e/"]], noShuffle).tiers;
    expect(hrefs(recordAnswer(tiers, "http://c/", answered).tiers)).toEqual([["http://c/", "http://a/", "http://b/"], ["http://d/", "http://e/"]]);
    expect(hrefs(recordAnswer(tiers, "http://e/", answered).tiers)).toEqual([["http://a/", "http://b/", "http://c/"], ["http://e/", "http://d/"]]);
    expect(hrefs(recordAnswer(tiers, "http://a/", answered).tiers)).toEqual(hrefs(tiers));
  });

  it("backs off exponentially per tracker, capped, and an answer forgets the failures", () => {
    expect([0, 1, 2, 3, 4, 7, 8, 50].map((f) => backoffMs(f, policy))).toEqual([0, 1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
    let tiers = buildTiers([["http://a/"]], noShuffle).tiers;
    const retryAts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const v = recordFailure(tiers, "http://a/", "refused", 100, policy);
      tiers = v.tiers;
      retryAts.push(v.retryAt);
    }
    expect(retryAts).toEqual([1100, 2100, 4100, 8100]);
    tiers = recordAnswer(tiers, "http://a/", answered).tiers;
    expect(findTracker(tiers, "http://a/")).toMatchObject({ failures: 0, retryAt: 0 });
    expect(recordFailure(tiers, "http://a/", "refused", 0, policy).retryAt).toBe(1000);
  });

  it("honours a longer BEP 31 retry-in, and `never` retires the tracker", () => {
    const tiers = buildTiers([["http://a/"]], noShuffle).tiers;
    expect(recordFailure(tiers, "http://a/", "busy", 0, policy, 300_000).retryAt).toBe(300_000);
    expect(recordFailure(tiers, "http://a/", "busy", 0, policy, 10).retryAt).toBe(1000);
    const gone = recordFailure(tiers, "http://a/", "gone", 0, policy, Infinity).tiers;
    expect(nextTracker(gone, 1e12)).toEqual({ kind: "none" });
  });

  it("says a failure is new once per tracker and reason", () => {
    let tiers = buildTiers([["http://a/", "http://b/"]], noShuffle).tiers;
    const kinds: string[] = [];
    for (const [href, reason] of [
      ["http://a/", "refused"],
      ["http://a/", "refused"],
      ["http://b/", "refused"],
      ["http://a/", "timeout"],
      ["http://a/", "timeout"],
    ] as const) {
      const v = recordFailure(tiers, href, reason, 0, policy);
      tiers = v.tiers;
      kinds.push(v.kind);
    }
    expect(kinds).toEqual(["newFailure", "repeatFailure", "newFailure", "newFailure", "repeatFailure"]);
    const back = recordAnswer(tiers, "http://a/", answered);
    expect(back.recoveredFrom).toBe("timeout");
    expect(recordFailure(back.tiers, "http://a/", "timeout", 0, policy).kind).toBe("newFailure");
  });

  it("reports a warning once until it changes", () => {
    let tiers = buildTiers([["http://a/"]], noShuffle).tiers;
    const seen: (string | undefined)[] = [];
    for (const warning of ["slow", "slow", undefined, "slower"]) {
      const v = recordAnswer(tiers, "http://a/", { ...answered, warning });
      tiers = v.tiers;
      seen.push(v.newWarning);
    }
    expect(seen).toEqual(["slow", undefined, undefined, "slower"]);
  });

  it("sends started first, completed once, and no completed to a tracker that met us as a seed", () => {
    const rows: [string, number, boolean, string[]][] = [
      // [label, left at started, completed in this run, events a tracker hears in order]
      ["leecher that completes", 100, true, ["started", "completed", "none"]],
      ["leecher that does not", 100, false, ["started", "none", "none"]],
      ["seed from the start", 0, true, ["started", "none", "none"]],
    ];
    for (const [label, left, completed, expected] of rows) {
      let tiers = buildTiers([["http://a/"]], noShuffle).tiers;
      const heard: string[] = [];
      for (let i = 0; i < 3; i++) {
        const entry = findTracker(tiers, "http://a/")!;
        const event = eventFor(entry, completed);
        heard.push(event);
        tiers = recordAnswer(tiers, "http://a/", { ...answered, event, left: event === "started" ? left : 0 }).tiers;
      }
      expect(heard, label).toEqual(expected);
    }
  });

  it("remembers the tracker id and who heard started (for stopped)", () => {
    let tiers = buildTiers([["http://a/", "http://b/"]], noShuffle).tiers;
    tiers = recordAnswer(tiers, "http://b/", { ...answered, event: "started", trackerId: Buffer.from("t1") }).tiers;
    tiers = recordAnswer(tiers, "http://b/", { ...answered, trackerId: undefined }).tiers;
    expect(findTracker(tiers, "http://b/")?.trackerId).toEqual(Buffer.from("t1"));
    expect(startedTrackers(tiers).map((e) => e.url.href)).toEqual(["http://b/"]);
  });
});

describe("announce schedule", () => {
  const floor = { overrideMs: undefined, floorMs: 30_000 };
  it("re-announces on interval, raised to the floor and to min interval; the override replaces interval only", () => {
    const rows: [number, number | undefined, { overrideMs: number | undefined; floorMs: number }, number, string][] = [
      [1800, undefined, floor, 1_800_000, "interval"],
      [1800, 900, floor, 1_800_000, "interval"],
      [5, undefined, floor, 30_000, "floor"],
      [5, 60, floor, 60_000, "min interval"],
      [1800, undefined, { overrideMs: 3000, floorMs: 30_000 }, 3000, "override"],
      [1800, 10, { overrideMs: 3000, floorMs: 30_000 }, 10_000, "min interval"],
    ];
    for (const [intervalSec, minIntervalSec, policy, delayMs, by] of rows) {
      expect(reannounceDelay({ intervalSec, minIntervalSec }, policy)).toEqual({ delayMs, by });
    }
  });

  it("counts left from the pieces we have, the last one at its real size", () => {
    const meta = { length: 2 * 16384 + 100, pieceLength: 16384, pieceCount: 3 };
    const have = (...pieces: number[]) => {
      const b = new Bitfield(3);
      for (const p of pieces) b.set(p);
      return b;
    };
    expect(bytesLeft(meta, have())).toBe(32868);
    expect(bytesLeft(meta, have(0))).toBe(16484);
    expect(bytesLeft(meta, have(2))).toBe(32768);
    expect(bytesLeft(meta, have(0, 1, 2))).toBe(0);
    expect(bytesLeft({ length: 0, pieceLength: 16384, pieceCount: 0 }, new Bitfield(0))).toBe(0);
  });

  it("derives a stable 32-bit key per node and torrent", () => {
    const pid = Buffer.alloc(20, 1);
    const k = announceKey(pid, Buffer.alloc(20, 2));
    expect(k).toBe(announceKey(pid, Buffer.alloc(20, 2)));
    expect(k).not.toBe(announceKey(pid, Buffer.alloc(20, 3)));
    expect(k >= 0 && k <= 0xffffffff).toBe(true);
  });

  it("drops ourselves and peers of a family our socket cannot reach", () => {
    const peers = [
      { host: "127.0.0.1", port: 7000 },
      { host: "127.0.0.1", port: 7001 },
      { host: "::1", port: 7002 },
      { host: "seed.example", port: 7003 },
    ];
    expect(selectPeers(peers, { host: "127.0.0.1", port: 7000 })).toEqual({ peers: [peers[1], peers[3]], skipped: 2 });
    expect(selectPeers(peers, { host: undefined, port: 7000 })).toEqual({ peers, skipped: 0 });
  });
});
