/**
 * The parent <-> node vocabulary (src/swarm/messages.ts): what crosses the IPC channel is
 * read back field by field; a well-formed message survives a JSON round trip unchanged, and
 * any damage to it is a FieldError naming where, never another exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FieldError } from "../../src/swarm/fields.js";
import { readCommand, readReport, type NodePlan, type NodeReport, type Sample } from "../../src/swarm/messages.js";

const sample: Sample = {
  phase: "leeching",
  have: 10,
  pieces: 64,
  downloaded: 163840,
  uploaded: 32768,
  hashFails: 1,
  wastedBlocks: 0,
  peersSeen: 3,
  rssBytes: 90_000_000,
  cpuMicros: 1_500_000,
  audited: 10,
  auditMismatches: 0,
};

const plan: NodePlan = {
  label: "node1",
  role: "leech",
  host: "127.0.1.1",
  port: 0,
  proxyPort: 0,
  torrentFile: "/tmp/x/swarm.torrent",
  data: "/tmp/x/nodes/node1",
  chaos: "kill:peer@0.5/s",
  killSeed: 7,
  netSeed: 8,
  corrupt: { probability: 0.05, seed: 9 },
  audit: true,
  progressMs: 250,
};

const reports: NodeReport[] = [
  { t: "ready", port: 6881, proxyPort: 6882, pid: 1234 },
  { t: "ready", port: 6881, proxyPort: undefined, pid: 1234 },
  { t: "progress", sample },
  { t: "complete", sample: { ...sample, phase: "seeding", have: 64 } },
  { t: "chaos", event: { t: 12.5, kind: "kill", node: "node1", actor: "io", name: "file_io/0" } },
  { t: "chaos", event: { t: 13, kind: "netReset", node: "node1", link: "127.0.1.2:4000" } },
  { t: "restarted", childId: "file_io/0", cause: "killed" },
  { t: "escalated", cause: "reached_max_restart_intensity" },
  { t: "killed", behaviour: "piece_mgr" },
  {
    t: "final",
    final: { sample, banned: ["127.0.1.3"], strikes: [{ host: "127.0.1.3", strikes: 2 }], audit: { checked: 10, mismatches: [], mismatchCount: 0 }, peakRssBytes: 95_000_000 },
  },
  { t: "failed", message: "boom" },
];

const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** Every path to a leaf of a JSON value, with a setter replacing it. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [path];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.length === 0 ? [path] : entries.flatMap(([k, v]) => leaves(v, [...path, k]));
}

function replaced(value: unknown, path: readonly (string | number)[], leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) return value.map((v: unknown, i) => (i === head ? replaced(v, rest, leaf) : v));
  const copy = { ...(value as Record<string, unknown>) };
  copy[head] = replaced(copy[head], rest, leaf);
  return copy;
}

describe("swarm messages", () => {
  it("every report and command survives the JSON round trip of the IPC channel", () => {
    for (const r of reports) expect(readReport(viaJson(r))).toEqual(viaJson(r));
    expect(readCommand(viaJson({ t: "start", plan }))).toEqual({ t: "start", plan });
    expect(readCommand({ t: "stop" })).toEqual({ t: "stop" });
    const { corrupt: _c, ...honest } = plan;
    expect(readCommand(viaJson({ t: "start", plan: honest }))).toEqual({ t: "start", plan: { ...honest, corrupt: undefined } });
  });

  it("a field of the wrong type or out of range is a FieldError naming it", () => {
    expect(() => readReport({ t: "progress", sample: { ...sample, have: -1 } })).toThrow(/report\.sample\.have/);
    expect(() => readReport({ t: "ready", port: 70000, pid: 1 })).toThrow(/report\.port/);
    expect(() => readCommand({ t: "start", plan: { ...plan, role: "king" } })).toThrow(/plan\.role: not one of seed, leech/);
    expect(() => readReport({ t: "chaos", event: { t: 1, kind: "kill", node: "n", actor: "cpu", name: "x" } })).toThrow(FieldError);
    expect(() => readReport("ready")).toThrow(FieldError);
  });

  it("any leaf replaced by junk either still reads or throws FieldError, nothing else", () => {
    const junk = fc.oneof(fc.constant(null), fc.constant(undefined), fc.integer(), fc.double(), fc.string({ maxLength: 5 }), fc.boolean(), fc.constant([]), fc.constant({}));
    const messages = [...reports.map(viaJson), viaJson({ t: "start", plan })];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: messages.length - 1 }), fc.nat(), junk, (which, leafPick, leaf) => {
        const message = messages[which];
        const paths = leaves(message);
        const damaged = replaced(message, paths[leafPick % paths.length] ?? [], leaf);
        const read = which === messages.length - 1 ? readCommand : readReport;
        try {
          read(damaged);
        } catch (error) {
          expect(error).toBeInstanceOf(FieldError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
