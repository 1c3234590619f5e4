/**
 * The --chaos grammar: worked examples, every kind of error, and properties: canonical text
 * round-trips exactly, formatting is idempotent, and random or mutated text either parses
 * to an in-range spec or throws ChaosSpecError -- nothing else.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ACTOR_KINDS,
  CHAOS_LIMITS,
  ChaosSpecError,
  MAX_CHAOS_SPEC_LENGTH,
  MILD_CHAOS,
  NO_CHAOS,
  formatChaosSpec,
  lyingNodeCount,
  parseChaosSpec,
  type ChaosSpec,
} from "../../src/swarm/chaosSpec.js";

function errorOf(text: string): ChaosSpecError {
  try {
    parseChaosSpec(text);
  } catch (err) {
    if (err instanceof ChaosSpecError) return err;
    throw err;
  }
  throw new Error(`parsed: ${text}`);
}

describe("parseChaosSpec: examples", () => {
  it("reads the full example of docs/CHAOS.md", () => {
    const spec = parseChaosSpec(
      "kill:peer@5/s,kill:io@0.2/s,kill:piece_mgr@0.05/s,kill:torrent@0.02/s,corrupt:0.01,corrupt-nodes:0.25," +
        "net:latency=20ms,net:bw=10MB/s,net:reset@1/s,net:stall@0.2/s=500ms,crash:node@1",
    );
    expect(spec).toEqual({
      kills: [
        { kind: "peer", perSecond: 5 },
        { kind: "io", perSecond: 0.2 },
        { kind: "piece_mgr", perSecond: 0.05 },
        { kind: "torrent", perSecond: 0.02 },
      ],
      corrupt: { probability: 0.01, nodeShare: 0.25 },
      net: { latencyMs: 20, bandwidthBytesPerSec: 10_000_000, resetPerSecond: 1, stallPerSecond: 0.2, stallMs: 500 },
      crashNode: { count: 1, afterMs: 2000, restartDelayMs: 1000 },
    } satisfies ChaosSpec);
  });

  it("'' and 'none' (with spaces) are no chaos, and no chaos prints as none", () => {
    expect(parseChaosSpec("")).toEqual(NO_CHAOS);
    expect(parseChaosSpec("  none ")).toEqual(NO_CHAOS);
    expect(formatChaosSpec(NO_CHAOS)).toBe("none");
  });

  it("kills come out in a fixed order whatever order they were written in; spaces around clauses are ignored", () => {
    const spec = parseChaosSpec(" kill:torrent@1/s , kill:announcer@2/s,kill:peer@3/s ");
    expect(spec.kills.map((k) => k.kind)).toEqual(["peer", "announcer", "torrent"]);
    expect(formatChaosSpec(spec)).toBe("kill:peer@3/s,kill:announcer@2/s,kill:torrent@1/s");
  });

  it("units: /min rates, s and min durations, decimal and binary sizes, exponents", () => {
    const spec = parseChaosSpec("kill:torrent_ctl@3/min,net:latency=0.5s,net:bw=2MiB/s,net:stall@1e-1/s=1min,crash:node@3:restart=250ms:after=1.5s");
    expect(spec.kills).toEqual([{ kind: "torrent_ctl", perSecond: 3 / 60 }]);
    expect(spec.net).toEqual({ latencyMs: 500, bandwidthBytesPerSec: 2 * 1024 * 1024, resetPerSecond: 0, stallPerSecond: 0.1, stallMs: 60_000 });
    expect(spec.crashNode).toEqual({ count: 3, afterMs: 1500, restartDelayMs: 250 });
    expect(formatChaosSpec(spec)).toBe("kill:torrent_ctl@3/min,net:latency=500ms,net:bw=2MiB/s,net:stall@0.1/s=60s,crash:node@3:after=1500ms:restart=250ms");
    expect(parseChaosSpec("net:bw=1.5kB/s").net?.bandwidthBytesPerSec).toBe(1500);
    expect(parseChaosSpec("net:bw=64KiB/s").net?.bandwidthBytesPerSec).toBe(65_536);
  });

  it("defaults: corrupt-nodes 0.25, stall 500 ms, crash after 2 s and restart after 1 s", () => {
    const spec = parseChaosSpec("corrupt:0.5,net:stall@1/s,crash:node@2");
    expect(spec.corrupt).toEqual({ probability: 0.5, nodeShare: 0.25 });
    expect(spec.net).toEqual({ latencyMs: 0, bandwidthBytesPerSec: undefined, resetPerSecond: 0, stallPerSecond: 1, stallMs: 500 });
    expect(spec.crashNode).toEqual({ count: 2, afterMs: 2000, restartDelayMs: 1000 });
  });

  it("MILD_CHAOS is canonical: peers and file workers killed, one node in eight lies", () => {
    const spec = parseChaosSpec(MILD_CHAOS);
    expect(formatChaosSpec(spec)).toBe(MILD_CHAOS);
    expect(spec.kills).toEqual([
      { kind: "peer", perSecond: 0.5 },
      { kind: "io", perSecond: 0.1 },
    ]);
    expect(spec.corrupt).toEqual({ probability: 0.05, nodeShare: 0.125 });
    expect(lyingNodeCount(spec.corrupt?.nodeShare ?? 0, 7)).toBe(1);
    expect(spec.net).toBeUndefined();
    expect(spec.crashNode).toBeUndefined();
  });

  it("lyingNodeCount: none for no candidates, at least one for any share, never more than all", () => {
    expect(lyingNodeCount(0.25, 0)).toBe(0);
    expect(lyingNodeCount(0.01, 7)).toBe(1);
    expect(lyingNodeCount(0.25, 7)).toBe(2);
    expect(lyingNodeCount(1, 7)).toBe(7);
  });

  it("a proxy with no fault keeps its clause", () => {
    expect(formatChaosSpec(parseChaosSpec("net:latency=0ms"))).toBe("net:latency=0ms");
  });
});

describe("parseChaosSpec: errors name the clause and why", () => {
  const cases: readonly (readonly [string, string, RegExp])[] = [
    ["kill:peers@1/s", "kill:peers@1/s", /unknown actor kind "peers"/],
    ["kill:peer", "kill:peer", /expected kill:KIND@RATE/],
    ["kill:peer@1", "kill:peer@1", /not NUMBER\/s or NUMBER\/min/],
    ["kill:peer@-1/s", "kill:peer@-1/s", /not a number/],
    ["kill:peer@0/s", "kill:peer@0/s", /out of range/],
    ["kill:peer@2000/s", "kill:peer@2000/s", /out of range/],
    ["kill:io@NaN/s", "kill:io@NaN/s", /not a number/],
    ["kill:io@1e999/s", "kill:io@1e999/s", /too large/],
    ["kill:peer@1/s,kill:peer@2/s", "kill:peer@2/s", /"kill:peer" is given twice/],
    ["corrupt:1.5", "corrupt:1.5", /probability 1.5 is out of range/],
    ["corrupt:0", "corrupt:0", /above 0/],
    ["corrupt-nodes:0.5", "corrupt-nodes:0.5", /needs a corrupt:P clause/],
    ["net:latency=20", "net:latency=20", /needs a unit/],
    ["net:latency=2h", "net:latency=2h", /needs a unit/],
    ["net:latency=61s", "net:latency=61s", /out of range/],
    ["net:bw=10MB", "net:bw=10MB", /expected net:bw=SIZE\/s/],
    ["net:bw=10/s", "net:bw=10/s", /needs a unit/],
    ["net:bw=0.5kB/s", "net:bw=0.5kB/s", /bandwidth 500 B\/s is out of range/],
    ["net:stall@1/s=0ms", "net:stall@1/s=0ms", /out of range/],
    ["crash:node@0", "crash:node@0", /node count 0 is out of range/],
    ["crash:node@1.5", "crash:node@1.5", /not a whole number/],
    ["crash:node@1:after=1s:after=2s", "crash:node@1:after=1s:after=2s", /after= is given twice/],
    ["crash:node@1:soon=1s", "crash:node@1:soon=1s", /unknown option "soon"/],
    ["crash:node@1:after", "crash:node@1:after", /not NAME=DURATION/],
    ["none,kill:peer@1/s", "none", /stands alone/],
    ["KILL:peer@1/s", "KILL:peer@1/s", /unknown clause/],
    ["kill:peer@1/s,,corrupt:0.1", "", /empty clause/],
    ["kill:peer@1/s,", "", /empty clause/],
  ];
  it.each(cases)("%s", (text, clause, why) => {
    const err = errorOf(text);
    expect(err.clause).toBe(clause);
    expect(err.why).toMatch(why);
    expect(err.message).toContain(clause);
  });

  it("refuses text longer than the bound before reading it", () => {
    const long = `kill:peer@1/s${" ".repeat(MAX_CHAOS_SPEC_LENGTH)}`;
    expect(errorOf(long).why).toMatch(/longer than 1024/);
  });

  it("a non-string (a caller outside TypeScript) is a ChaosSpecError too", () => {
    expect(errorOf(undefined as unknown as string).why).toMatch(/expected text/);
  });

  it("a clause shown in an error is cut to a readable length", () => {
    const err = errorOf(`kill:${"x".repeat(500)}@1/s`);
    expect(err.message.length).toBeLessThan(300);
  });
});

// ---- properties -------------------------------------------------------------------------

const rateArb = fc.double({ min: CHAOS_LIMITS.perSecond.min, max: CHAOS_LIMITS.perSecond.max, noNaN: true });
const shareArb = fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true });
const msArb = (b: { min: number; max: number }): fc.Arbitrary<number> => fc.double({ min: b.min, max: b.max, noNaN: true });

const specArb: fc.Arbitrary<ChaosSpec> = fc.record({
  kills: fc.subarray([...ACTOR_KINDS]).chain((kinds) => fc.tuple(...kinds.map((kind) => rateArb.map((perSecond) => ({ kind, perSecond }))))),
  corrupt: fc.option(fc.record({ probability: shareArb, nodeShare: shareArb }), { nil: undefined }),
  net: fc.option(
    fc
      .record({
        latencyMs: fc.oneof(fc.constant(0), msArb(CHAOS_LIMITS.latencyMs)),
        bandwidthBytesPerSec: fc.option(msArb(CHAOS_LIMITS.bandwidthBytesPerSec).map(Math.round), { nil: undefined }),
        resetPerSecond: fc.oneof(fc.constant(0), rateArb),
        stall: fc.option(fc.record({ perSecond: rateArb, ms: msArb(CHAOS_LIMITS.stallMs) }), { nil: undefined }),
      })
      .map(({ stall, ...rest }) => ({ ...rest, stallPerSecond: stall?.perSecond ?? 0, stallMs: stall?.ms ?? 500 })),
    { nil: undefined },
  ),
  crashNode: fc.option(
    fc.record({ count: fc.integer({ min: 1, max: 1000 }), afterMs: msArb(CHAOS_LIMITS.afterMs), restartDelayMs: msArb(CHAOS_LIMITS.restartDelayMs) }),
    { nil: undefined },
  ),
});

/** Small edits that turn valid text into plausible invalid text. */
const ALPHABET = "kilpeoru:@=/,.-_0123456789eEsmMBKiGn ";
const editArb = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);
type Edit = typeof editArb extends fc.Arbitrary<infer E> ? E : never;

function edit(text: string, e: Edit): string {
  const at = text.length === 0 ? 0 : e.at % (text.length + 1);
  switch (e.kind) {
    case "insert":
      return text.slice(0, at) + e.text + text.slice(at);
    case "delete":
      return text.slice(0, at) + text.slice(at + e.count);
    case "truncate":
      return text.slice(0, at);
  }
}

/** Parses, or returns the ChaosSpecError; anything else thrown fails the property. */
function attempt(text: string): ChaosSpec | ChaosSpecError {
  try {
    return parseChaosSpec(text);
  } catch (err) {
    if (err instanceof ChaosSpecError) return err;
    throw err;
  }
}

function expectRoundTrip(spec: ChaosSpec): void {
  const text = formatChaosSpec(spec);
  expect(parseChaosSpec(text)).toEqual(spec);
  expect(formatChaosSpec(parseChaosSpec(text))).toBe(text);
}

describe("parseChaosSpec / formatChaosSpec: properties", () => {
  it("every spec the grammar can express round-trips through its canonical text", () => {
    fc.assert(fc.property(specArb, expectRoundTrip), { numRuns: 2000 });
  });

  it("random text only ever parses or throws ChaosSpecError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 80 })), (text) => {
        const result = attempt(text);
        if (!(result instanceof ChaosSpecError)) expectRoundTrip(result);
      }),
      { numRuns: 3000 },
    );
  });

  it("mutated valid text only ever parses (and then round-trips) or throws ChaosSpecError", () => {
    fc.assert(
      fc.property(specArb, fc.array(editArb, { minLength: 1, maxLength: 4 }), (spec, edits) => {
        const text = edits.reduce(edit, formatChaosSpec(spec));
        const result = attempt(text);
        if (!(result instanceof ChaosSpecError)) expectRoundTrip(result);
      }),
      { numRuns: 3000 },
    );
  });
});
