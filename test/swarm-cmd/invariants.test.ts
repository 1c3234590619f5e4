/**
 * The swarm's end-of-run judgements (src/swarm/invariants.ts) on crafted facts: a clean run
 * holds every invariant, and each invariant breaks on the one fact that violates it, naming
 * the member and saying why.
 */
import { describe, expect, it } from "vitest";
import { INVARIANTS, judge, judgeRun, type InvariantName, type MemberFacts, type RunFacts } from "../../src/swarm/invariants.js";

const MiB = 1024 * 1024;

function member(label: string, host: string, over: Partial<MemberFacts> = {}): MemberFacts {
  return {
    label,
    role: label === "seed" ? "seed" : "leech",
    host,
    have: 64,
    complete: true,
    integrity: { kind: "match", files: 1 },
    audited: label === "seed" ? 0 : 64,
    auditMismatches: 0,
    auditMismatchPieces: [],
    dropCount: 0,
    drops: [],
    fetchedBytes: label === "seed" ? 0 : 4 * MiB,
    crashes: [],
    banned: [],
    strikes: [],
    peakRssBytes: 100 * MiB,
    escalations: 0,
    ...over,
  };
}

function run(members: MemberFacts[], over: Partial<RunFacts> = {}): RunFacts {
  return {
    members,
    pieces: 64,
    payloadBytes: 4 * MiB,
    timeoutSeconds: 60,
    audit: true,
    liars: ["127.0.1.3"],
    banAfter: 2,
    memory: { kind: "perNodeProcess" },
    memoryBoundBytes: 300 * MiB,
    ...over,
  };
}

const clean = (): MemberFacts[] => [
  member("seed", "127.0.0.2"),
  member("node1", "127.0.1.1", { strikes: [{ host: "127.0.1.3", strikes: 3 }], banned: ["127.0.1.3"] }),
  member("node2", "127.0.1.2", { strikes: [{ host: "127.0.1.3", strikes: 1 }] }),
  member("node3", "127.0.1.3"),
];

/** The verdict of `name` when node2 (index 2) is replaced by `node2`. */
function withNode2(name: InvariantName, node2: Partial<MemberFacts>, over: Partial<RunFacts> = {}) {
  const ms = clean();
  ms[2] = member("node2", "127.0.1.2", node2);
  return judge(name, run(ms, over));
}

describe("swarm invariants", () => {
  it("a clean run holds every invariant, in the documented order", () => {
    const verdicts = judgeRun(run(clean()));
    expect(verdicts.map((v) => v.invariant)).toEqual([...INVARIANTS]);
    expect(verdicts.filter((v) => v.kind === "broken")).toEqual([]);
  });

  it("allComplete breaks on a node short of pieces, and names supervisors that gave up", () => {
    const v = withNode2("allComplete", { complete: false, have: 40, escalations: 1 });
    expect(v).toMatchObject({ kind: "broken", node: "node2" });
    expect(v.evidence).toContain("40 of 64 pieces");
    expect(v.evidence).toContain("gave up on node2");
    expect(withNode2("allComplete", { complete: false }, { interruptedBy: "SIGINT" }).evidence).toContain("interrupted by SIGINT");
  });

  it("integrity breaks on a mismatching or unreadable file", () => {
    expect(withNode2("integrity", { integrity: { kind: "mismatch", file: "/x/a.bin" } })).toMatchObject({ kind: "broken", node: "node2" });
    expect(withNode2("integrity", { integrity: { kind: "unreadable", file: "/x/a.bin", why: "ENOENT" } }).evidence).toContain("ENOENT");
  });

  it("haveAfterWrite breaks on a piece read back wrong, and on an audit that never ran", () => {
    expect(withNode2("haveAfterWrite", { auditMismatches: 2, auditMismatchPieces: [5, 9] }).evidence).toContain("5, 9");
    expect(withNode2("haveAfterWrite", { audited: 0 }).evidence).toContain("not wired");
    expect(withNode2("haveAfterWrite", { audited: 0 }, { audit: false }).kind).toBe("held");
  });

  it("noVerifiedPieceLost breaks on a have count that went down", () => {
    const v = withNode2("noVerifiedPieceLost", { dropCount: 1, drops: [{ atMs: 2500, before: 30, after: 12 }] });
    expect(v).toMatchObject({ kind: "broken", node: "node2" });
    expect(v.evidence).toContain("from 30 to 12");
  });

  it("noPieceFetchedTwice allows exactly the payload and breaks one byte past it", () => {
    expect(withNode2("noPieceFetchedTwice", { fetchedBytes: 4 * MiB }).kind).toBe("held");
    expect(withNode2("noPieceFetchedTwice", { fetchedBytes: 4 * MiB + 1 }).kind).toBe("broken");
  });

  it("resumeAfterCrash: no file yet is fine; a torn file or a claimed piece not on disk is not", () => {
    const crash = (resume: MemberFacts["crashes"][number]["resume"]) => ({ crashes: [{ atMs: 1000, haveBefore: 20, resume }] });
    expect(withNode2("resumeAfterCrash", crash({ kind: "noFile" })).kind).toBe("held");
    expect(withNode2("resumeAfterCrash", crash({ kind: "checked", claimed: 20, invalid: [] })).kind).toBe("held");
    expect(withNode2("resumeAfterCrash", crash({ kind: "unusable", why: "badChecksum" })).evidence).toContain("badChecksum");
    expect(withNode2("resumeAfterCrash", crash({ kind: "checked", claimed: 20, invalid: [7] })).evidence).toContain("7");
  });

  it("liarsBanned: caught banAfter times and not banned breaks; caught once need not ban; a liar is not judged", () => {
    expect(withNode2("liarsBanned", { strikes: [{ host: "127.0.1.3", strikes: 2 }] })).toMatchObject({ kind: "broken", node: "node2" });
    expect(withNode2("liarsBanned", { strikes: [{ host: "127.0.1.3", strikes: 1 }] }).kind).toBe("held");
    const ms = clean();
    ms[3] = member("node3", "127.0.1.3", { strikes: [{ host: "127.0.1.3", strikes: 5 }] });
    expect(judge("liarsBanned", run(ms)).kind).toBe("held");
  });

  it("honestNeverBlamed breaks on a strike or a ban of a host that never lied", () => {
    expect(withNode2("honestNeverBlamed", { strikes: [{ host: "127.0.1.1", strikes: 1 }] }).evidence).toContain("struck 127.0.1.1");
    expect(withNode2("honestNeverBlamed", { banned: ["127.0.0.2"] }).evidence).toContain("banned 127.0.0.2");
  });

  it("memoryBound: per node process, or the whole process in-process", () => {
    expect(withNode2("memoryBound", { peakRssBytes: 300 * MiB })).toMatchObject({ kind: "broken", node: "node2" });
    expect(withNode2("memoryBound", { peakRssBytes: 300 * MiB - 1 }).kind).toBe("held");
    const whole = (peak: number) => judge("memoryBound", run(clean(), { memory: { kind: "wholeProcess", peakRssBytes: peak }, memoryBoundBytes: 500 * MiB }));
    expect(whole(499 * MiB).kind).toBe("held");
    expect(whole(500 * MiB)).toMatchObject({ kind: "broken", node: undefined });
  });
});
