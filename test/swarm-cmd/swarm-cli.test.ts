/**
 * `swarmsup swarm` end to end (the built CLI, dist/): small swarms under chaos in both modes.
 * Each run must exit 0 with every invariant held, and what the runtime saw must match what
 * the chaos actors injected:
 * - kills: the summary's `killed` = the kill (and crash) events per node = the record file's
 *   lines; and per node, the runtime saw exactly one `killed` exit of a permanent actor
 *   (file_io, piece_mgr, torrent_ctl, announcer) per recorded kill of its kind (peers: at
 *   least one per kill, others may die at shutdown).
 * - restarts (rest_for_one: resume_writer, io_sup, piece_mgr, torrent_ctl, announcer,
 *   peer_pool; io_sup one_for_one), counted as attempts = restarts + failed restarts (a
 *   kill that lands on a child during its init fails that restart, and the retry that
 *   follows is the one "restarted"): file_io attempts = io kills and piece_mgr attempts =
 *   piece_mgr kills, exactly; torrent_ctl attempts are at least the piece_mgr restarts and
 *   at most piece_mgr + torrent_ctl kills (a kill landing while its supervisor is already
 *   restarting it merges into that restart); peer_pool restarts = announcer restarts. No
 *   supervisor gave up.
 * - bans: nobody banned an honest host; each liar was banned by at least one honest node.
 * - process mode: a SIGKILLed node process came back on its directory (2 processes), its
 *   resume file decoded whole with every claimed piece valid on disk, and it completed.
 * And a run with a deliberately broken invariant fails: exit 1, one line on stderr.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PerNodeSummary, SwarmSummary } from "../../src/swarm/report.js";
import { CLI, LineProcess, MiB, randomFile, suiteDir } from "../helpers/swarm.js";

interface SwarmRun {
  readonly code: number | null;
  readonly summary: SwarmSummary | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with the swarm's default logging (SWARMSUP_LOG unset: stderr is for failures only). */
async function swarm(args: readonly string[], timeoutMs: number): Promise<SwarmRun> {
  const { SWARMSUP_LOG: _unset, ...env } = process.env;
  const p = new LineProcess("swarm", spawn(process.execPath, [CLI, "swarm", ...args], { env, stdio: ["ignore", "pipe", "pipe"] }));
  const code = await p.exitCode(timeoutMs);
  const last = p.lines.filter((l) => l.trim() !== "").at(-1) ?? "";
  let summary: SwarmSummary | undefined;
  if (args.includes("--json") && last.startsWith("{")) summary = JSON.parse(last) as SwarmSummary;
  return { code, summary, stdout: p.lines.join("\n"), stderr: p.stderr };
}

const n = (r: Readonly<Record<string, number>>, k: string): number => r[k] ?? 0;

function expectAllHeld(s: SwarmSummary): void {
  expect(s.invariants.filter((v) => !v.held)).toEqual([]);
  expect(s.allComplete).toBe(true);
  expect(s.integrity).toBe("ok");
  expect(s.failures).toEqual([]);
  expect(s.escalations, "no supervisor reached its restart intensity").toBe(0);
}

/** What the runtime saw on a node against what its chaos monkey recorded. */
function expectKillsMatchRestarts(p: PerNodeSummary): void {
  const kills = (kind: string): number => n(p.chaos, `kill:${kind}`);
  const why = `${p.node}: chaos ${JSON.stringify(p.chaos)}, killed exits ${JSON.stringify(p.killedExits)}, restarts ${JSON.stringify(p.restartsByChild)}, failed restarts ${JSON.stringify(p.failedRestartsByChild)}`;
  for (const [kind, behaviour] of [["io", "file_io"], ["piece_mgr", "piece_mgr"], ["torrent_ctl", "torrent_ctl"], ["announcer", "announcer"]] as const) {
    expect(n(p.killedExits, behaviour), why).toBe(kills(kind));
  }
  expect(n(p.killedExits, "peer"), why).toBeGreaterThanOrEqual(kills("peer"));
  const attempts = (child: string): number => n(p.restartsByChild, child) + n(p.failedRestartsByChild, child);
  expect(attempts("file_io"), why).toBe(kills("io"));
  expect(attempts("piece_mgr"), why).toBe(kills("piece_mgr"));
  expect(attempts("torrent_ctl"), why).toBeGreaterThanOrEqual(n(p.restartsByChild, "piece_mgr"));
  expect(attempts("torrent_ctl"), why).toBeLessThanOrEqual(kills("piece_mgr") + kills("torrent_ctl"));
  expect(n(p.restartsByChild, "peer_pool"), why).toBe(n(p.restartsByChild, "announcer"));
}

/** `caught`: the run is long and the liar lies often enough that some honest node catches it (checked per seed). */
function expectBansOnLiarsOnly(s: SwarmSummary, caught: boolean): void {
  const liars = s.perNode.filter((p) => p.liar);
  expect(liars.length, "the chaos spec makes liars").toBeGreaterThan(0);
  for (const p of s.perNode) for (const b of p.banned) expect(liars.map((l) => l.node), `${p.node} banned ${b}`).toContain(b);
  for (const l of liars) {
    expect(l.role).toBe("leech");
    if (caught) expect(l.bannedBy.length, `${l.node} lied to someone, who banned it`).toBeGreaterThan(0);
  }
}

describe("swarmsup swarm", () => {
  const dir = suiteDir("swarm-cmd", async () => undefined);

  it("in-process: 4 nodes x 6 MiB under kills of every permanent kind and a liar: invariants hold, kills match restarts", async () => {
    const record = join(dir(), "inprocess.jsonl");
    const chaos = "kill:peer@3/s,kill:io@1/s,kill:piece_mgr@0.5/s,kill:torrent_ctl@0.3/s,kill:announcer@0.3/s,corrupt:0.5,corrupt-nodes:0.25";
    const r = await swarm(["--mode", "inprocess", "--nodes", "4", "--size-mb", "6", "--seed", "16", "--chaos", chaos, "--record", record, "--json", "--timeout", "60"], 90_000);
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary as SwarmSummary;
    expectAllHeld(s);
    expect(s).toMatchObject({ nodes: 4, bytes: 6 * MiB, mode: "inprocess", seed: 16 });
    expect(s.perNode.map((p) => p.node)).toEqual(["seed", "node1", "node2", "node3", "node4"]);
    for (const p of s.perNode.filter((x) => x.role === "leech")) expect(p.seconds).not.toBeNull();

    const perNodeKills = s.perNode.reduce((sum, p) => sum + Object.entries(p.chaos).reduce((k, [kind, c]) => (kind.startsWith("kill:") ? k + c : k), 0), 0);
    expect(s.killed).toBe(perNodeKills);
    expect(n(s.chaosEvents.byKind, "kill:peer"), "the monkey killed peers").toBeGreaterThan(0);
    expect(n(s.chaosEvents.byKind, "kill:io"), "the monkey killed file workers").toBeGreaterThan(0);
    // Seed 16 strikes early enough that piece managers die in a run of about a second.
    expect(n(s.chaosEvents.byKind, "kill:piece_mgr"), "the monkey killed piece managers").toBeGreaterThan(0);
    for (const p of s.perNode) expectKillsMatchRestarts(p);
    expectBansOnLiarsOnly(s, true);

    const lines = (await readFile(record, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ run: { seed: 16, mode: "inprocess", nodes: 4, chaos } });
    expect(lines.slice(1).filter((e) => e.kind === "kill").length).toBe(s.killed);
    expect(lines.slice(1).length).toBe(s.chaosEvents.total);
  }, 100_000);

  it("process mode behind fault proxies: a node process SIGKILLed after its resume save comes back on its directory and completes", async () => {
    // Every link crosses a member's fault proxy (latency, resets, stalls), so bans also show
    // the proxy keeps the dialler's host. The crash comes after the transfer: a node that
    // restarts mid-transfer can be dialled during its start-up check, and piece_mgr hands out
    // pieces before the check says what is on disk (reported; noPieceFetchedTwice catches it).
    const chaos = "kill:peer@1/s,kill:io@0.3/s,corrupt:0.5,net:latency=2ms,net:reset@2/s,net:stall@1/s=200ms,crash:node@1:after=6s:restart=300ms";
    const r = await swarm(["--mode", "process", "--nodes", "3", "--size-mb", "8", "--seed", "21", "--chaos", chaos, "--json", "--timeout", "60"], 90_000);
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary as SwarmSummary;
    expectAllHeld(s);
    expect(s.mode).toBe("process");
    expect(s.chaosEvents.byKind).toMatchObject({ crashNode: 1, restartNode: 1 });
    const crashed = s.perNode.filter((p) => p.crashes.length > 0);
    expect(crashed.length).toBe(1);
    const victim = crashed[0] as PerNodeSummary;
    expect(victim.processes).toBe(2);
    expect(victim.crashes[0]?.resume).toMatchObject({ kind: "checked", invalid: [] });
    expect(s.killed).toBe(s.perNode.reduce((sum, p) => sum + Object.entries(p.chaos).reduce((k, [kind, c]) => (kind.startsWith("kill:") || kind === "crashNode" ? k + c : k), 0), 0));
    for (const p of s.perNode) {
      expectKillsMatchRestarts(p);
      expect(p.peakRssMb, `${p.node} reported its own process's peak RSS`).toBeGreaterThan(20);
      // A node process starts Node and its modules: more than 50 ms of CPU, whatever it moved.
      expect(p.cpuSeconds, `${p.node} reported its own process's CPU`).toBeGreaterThan(0.05);
    }
    // The transfer's CPU is every node's (last) process, plus the seed after its check and the
    // coordinator from t0: at least the nodes' own.
    const leechCpu = s.perNode.filter((p) => p.role === "leech").reduce((n, p) => n + p.cpuSeconds, 0);
    expect(s.transferCpu.seconds).toBeGreaterThan(leechCpu - 0.01);
    expect(s.transferCpu.perGiBDelivered).toBeCloseTo(s.transferCpu.seconds / ((3 * 8 * MiB) / 1024 ** 3), 0);
    // 8 MiB move in about a second, mostly from the seed: the liar may serve no one.
    expectBansOnLiarsOnly(s, false);
  }, 100_000);

  it("a run whose data is damaged after the transfer fails: exit 1 and one line naming the invariant", async () => {
    const r = await swarm(["--mode", "inprocess", "--nodes", "2", "--size-mb", "1", "--chaos", "none", "--seed", "1", "--test-sabotage"], 60_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length, r.stderr).toBe(1);
    expect(lines[0]).toMatch(/^swarmsup: invariant integrity broken: node1's .* differs from the payload \(sha256\)$/);
    expect(r.stdout).toContain("BROKEN integrity");
  }, 70_000);

  it("--file shares a directory as it is, and leaves nothing beside it", async () => {
    const top = join(dir(), "share", "pkg");
    await mkdir(join(top, "sub"), { recursive: true });
    await randomFile(join(top, "a.bin"), 700_000);
    await randomFile(join(top, "sub", "b.bin"), 300_001);
    await writeFile(join(top, "empty.txt"), "");
    const r = await swarm(["--mode", "inprocess", "--nodes", "2", "--file", top, "--chaos", "none", "--json"], 60_000);
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary as SwarmSummary;
    expectAllHeld(s);
    expect(s.bytes).toBe(1_000_001);
    expect((await readdir(join(dir(), "share"))).sort()).toEqual(["pkg"]);
    expect((await readdir(top)).sort()).toEqual(["a.bin", "empty.txt", "sub"]);
  }, 70_000);

  it("bad flags are usage errors (exit 2) that say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["--mode", "threads"], /--mode threads: either process or inprocess/],
      [["--nodes", "0"], /--nodes 0: not a whole number from 1/],
      [["--chaos", "kill:cpu@1/s"], /--chaos/],
      [["--mode", "inprocess", "--chaos", "crash:node@1"], /crash needs --mode process/],
      [["--piece-length", "20000"], /power of two/],
      [["--file", "/x", "--size-mb", "4"], /give one/],
    ];
    for (const [args, message] of cases) {
      const r = await swarm(args, 20_000);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  }, 60_000);
});
