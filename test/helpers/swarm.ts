/**
 * Shared helpers of the swarm integration tests (test/swarm, test/interop/pair*): payloads
 * on disk, their digests, torrents for them, and waiting -- always bounded -- on promises,
 * runtime events, polled conditions and the output lines of child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Pid, Runtime, RuntimeEvent } from "../../src/runtime/index.js";
import { SwarmNode, type SwarmNodeOptions } from "../../src/node.js";
import type { TorrentStats } from "../../actors/torrentCtl.js";
import { TorrentState, names } from "../../actors/torrentState.js";
import { createInlineHasher } from "../../src/storage/hashPool.js";
import { createTorrent } from "../../src/storage/create.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { PYTHON } from "./interop.js";

/** The built CLI as the package ships it (its bin, the bundle: `npm run build` first). */
export const CLI = fileURLToPath(new URL("../../dist/src/cli/swarmsup.mjs", import.meta.url));

export const MiB = 1024 * 1024;
export const KiB = 1024;

// ---- payloads ---------------------------------------------------------------------------

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `swarmsup-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/**
 * A temporary directory for the suite: made (and filled by `fill`) before its tests, removed
 * after them. The getter throws if a test runs without it.
 */
export function suiteDir(prefix: string, fill: (dir: string) => Promise<void>): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await tempDir(prefix);
    await fill(dir);
  });
  afterAll(async () => {
    await removeDir(dir);
  });
  return () => {
    if (dir === undefined) throw new Error(`suiteDir ${prefix}: not made yet`);
    return dir;
  };
}

/** Child processes a test pushes here are stopped after it, pass or fail. */
export function stoppedAfterEach(): LineProcess[] {
  const running: LineProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });
  return running;
}

/** A file of `size` random bytes (parents created). */
export async function randomFile(path: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, size === 0 ? Buffer.alloc(0) : randomBytes(size));
}

export interface PayloadFile {
  /** Relative to the payload's top directory, "/"-separated. */
  readonly path: string;
  readonly size: number;
}

/** Writes a multi-file payload under `top` (which becomes the torrent's name). */
export async function writePayload(top: string, files: readonly PayloadFile[]): Promise<void> {
  await mkdir(top, { recursive: true });
  for (const f of files) await randomFile(join(top, ...f.path.split("/")), f.size);
}

/**
 * A payload with what trips up multi-file code: a nested directory, a zero-length file,
 * and sizes that do not divide a power-of-two piece length. ~`approxMiB` MiB in all.
 */
export function awkwardPayload(approxMiB: number): PayloadFile[] {
  const big = Math.max(1, approxMiB - 2) * MiB;
  return [
    { path: "a.bin", size: big + 12_345 },
    { path: "empty.txt", size: 0 },
    { path: "sub/deeper/b.bin", size: MiB - 1 },
    { path: "sub/c.bin", size: 777_777 },
    { path: "z/tiny.txt", size: 3 },
  ];
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** relative path -> sha256 of every regular file under `root` (a single file: its base name). */
export async function digestTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if ((await stat(root)).isFile()) return out.set(basename(root), await sha256File(root));
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 16) throw new Error(`digestTree: ${dir} is nested deeper than 16`);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, depth + 1);
      else if (entry.isFile()) out.set(relative(root, full), await sha256File(full));
    }
  };
  await walk(root, 0);
  return out;
}

/** Sorted entries, so `expect(...).toEqual(...)` shows a readable diff. */
export function sortedEntries(m: Map<string, string>): [string, string][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A v1 torrent of `path` (a file or a directory), written to `out` too when given. */
export async function torrentOf(path: string, pieceLength: number, out?: string): Promise<Metainfo> {
  const hasher = createInlineHasher();
  try {
    const { torrent, metainfo } = await createTorrent({ path, hasher, pieceLength, creationDate: 0 });
    if (out !== undefined) await writeFile(out, torrent);
    return metainfo;
  } finally {
    await hasher.close();
  }
}

// ---- waiting, bounded -------------------------------------------------------------------

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Re-evaluates `probe` every `everyMs` until it returns a value other than undefined; fails
 * after `timeoutMs`. For state that has no event of its own (a stats counter crossing a line).
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every runtime event from now on, plus a bounded wait for the first one matching. */
export class EventLog {
  readonly events: RuntimeEvent[] = [];
  private readonly waiters: { match: (e: RuntimeEvent) => boolean; resolve: (e: RuntimeEvent) => void }[] = [];
  private readonly unsubscribe: () => void;

  constructor(runtime: Runtime) {
    this.unsubscribe = runtime.subscribe((e) => {
      this.events.push(e);
      for (const w of this.waiters.filter((x) => x.match(e))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    });
  }

  /** The first event matching, counting those already seen since `fromIndex`. */
  next(what: string, match: (e: RuntimeEvent) => boolean, timeoutMs: number, fromIndex = 0): Promise<RuntimeEvent> {
    const seen = this.events.slice(fromIndex).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(new Promise<RuntimeEvent>((resolve) => this.waiters.push({ match, resolve })), timeoutMs, what);
  }

  stop(): void {
    this.unsubscribe();
  }
}

// ---- child processes --------------------------------------------------------------------

/** A child process whose stdout is read as lines; every wait on it is bounded. */
export class LineProcess {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private partial = "";

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => this.onData(chunk));
    child.stderr?.setEncoding("utf8");
    // Bounded: a chatty child keeps only its last 64 KiB of stderr for the failure message.
    child.stderr?.on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-64 * KiB);
    });
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  }

  private onData(chunk: string): void {
    this.partial += chunk;
    for (let nl = this.partial.indexOf("\n"); nl >= 0; nl = this.partial.indexOf("\n")) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.lines.push(line);
      for (const w of this.waiters.filter((x) => x.match(line))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  /** The first stdout line matching (already printed or to come); rejects if the child exits first. */
  line(what: string, match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const found = new Promise<string>((resolve) => this.waiters.push({ match, resolve }));
    const died = this.exited.then((code): never => {
      throw new Error(`${this.label} exited (${code}) before ${what}; stderr: ${this.stderr.slice(-2000)}`);
    });
    return withTimeout(Promise.race([found, died]), timeoutMs, `${this.label}: ${what}`);
  }

  /** Exit code within `timeoutMs`, else the child is killed and this rejects. */
  async exitCode(timeoutMs: number): Promise<number | null> {
    try {
      return await withTimeout(this.exited, timeoutMs, `${this.label} to exit`);
    } catch (err) {
      this.child.kill("SIGKILL");
      throw new Error(`${err instanceof Error ? err.message : String(err)}; stderr: ${this.stderr.slice(-2000)}`);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Never throws. */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill("SIGTERM");
    try {
      return await withTimeout(this.exited, graceMs, `${this.label} to stop`);
    } catch {
      this.child.kill("SIGKILL");
      return this.exited;
    }
  }
}

/** `node dist/src/cli/swarmsup.mjs ...args`, logs at warn (stdout is a pipe: no progress bar). */
export function startCli(label: string, args: readonly string[]): LineProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, SWARMSUP_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
  return new LineProcess(label, child);
}

/** The port from `swarmsup seed`'s "seeding NAME (IH) on HOST:PORT" line. */
export async function seedPort(seed: LineProcess, timeoutMs: number): Promise<number> {
  const line = await seed.line("the seeding line", (l) => l.startsWith("seeding "), timeoutMs);
  const m = /on [^\s]+:(\d+)$/.exec(line);
  if (m === null) throw new Error(`no port in ${JSON.stringify(line)}`);
  return Number(m[1]);
}

export interface CliResult {
  readonly code: number | null;
  /** stdout's last line, parsed (the `--json` summary), when it is JSON. */
  readonly json: unknown;
  readonly stderr: string;
}

/** Runs a CLI command to its end (bounded); the last stdout line is parsed as JSON if it is. */
export async function runCli(label: string, args: readonly string[], timeoutMs: number): Promise<CliResult> {
  const p = startCli(label, args);
  const code = await p.exitCode(timeoutMs);
  const last = p.lines.filter((l) => l.trim() !== "").at(-1);
  let json: unknown;
  try {
    json = last === undefined ? undefined : JSON.parse(last);
  } catch {
    json = undefined;
  }
  return { code, json, stderr: p.stderr };
}

/** A python3-libtorrent script of test/fixtures: lt_peer.py (seed, leech) or lt_create.py. */
export function startLtPeer(label: string, args: readonly string[], script: "lt_peer.py" | "lt_create.py" = "lt_peer.py"): LineProcess {
  const file = fileURLToPath(new URL(`../fixtures/${script}`, import.meta.url));
  return new LineProcess(label, spawn(PYTHON, [file, ...args], { stdio: ["ignore", "pipe", "pipe"] }));
}

/** What lt_create.py says of the torrent it made. */
export interface LtMade {
  /** The v1 info-hash, hex. */
  readonly infoHash: string;
  readonly padFiles: number;
}

/** libtorrent's torrent of `path` at `out` (test/fixtures/lt_create.py), checked to have a v1 info-hash. */
export async function ltCreate(path: string, out: string, mode: "v1" | "hybrid", pieceLength: number): Promise<LtMade> {
  const p = startLtPeer(`lt create ${mode}`, [path, out, mode, String(pieceLength)], "lt_create.py");
  expect(await p.exitCode(30_000), p.stderr).toBe(0);
  const parsed: unknown = JSON.parse(p.lines[0] ?? "null");
  expect(parsed).toMatchObject({ infoHash: expect.stringMatching(/^[0-9a-f]{40}$/) });
  return parsed as LtMade;
}

/** The first JSON line of a LineProcess whose `event` is `event`. */
export async function ltEvent(p: LineProcess, event: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const line = await p.line(`"${event}"`, (l) => l.includes(`"event": "${event}"`), timeoutMs);
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== "object" || parsed === null) throw new Error(`not a JSON object: ${line}`);
  return Object.fromEntries(Object.entries(parsed));
}

// ---- in-process nodes -------------------------------------------------------------------

/** Nodes a test pushes here are stopped after it, pass or fail. */
export function nodesStoppedAfterEach(): SwarmNode[] {
  const nodes: SwarmNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => withTimeout(n.stop(), 10_000, `node ${n.host} to stop`)));
  });
  return nodes;
}

/** A single-file payload of `size` random bytes at `dir/name`, and its v1 torrent. */
export async function singleFileTorrent(dir: string, name: string, size: number, pieceLength: number): Promise<{ meta: Metainfo; path: string }> {
  const path = join(dir, name);
  await randomFile(path, size);
  return { meta: await torrentOf(path, pieceLength), path };
}

/** A node on `host` seeding `meta` from `dataPath`; resolves once its check found every piece. */
export async function startSeedNode(host: string, torrents: readonly { meta: Metainfo; path: string }[], options: Omit<SwarmNodeOptions, "host"> = {}): Promise<SwarmNode> {
  const node = await SwarmNode.start({ ...options, host, label: options.label ?? `seed@${host}` });
  for (const t of torrents) {
    await node.addTorrent({ meta: t.meta, location: { kind: "dataPath", path: t.path } });
    const checked = await node.await(t.meta.infoHashHex, "checked", 20_000);
    if (checked.have !== checked.pieces) throw new Error(`seed ${host}: ${checked.have} of ${checked.pieces} pieces after the check`);
  }
  return node;
}

/** The node's peer actors of torrent `ih` (registered ["peer", ih, "host:port"]). */
export function peerPids(node: SwarmNode, ih: string): Pid[] {
  return node.runtime.match(["peer", ih, "*"]);
}

/** Resolves with the stats once `have` reached `pieces` (polled: pieces have no event of their own). */
export function havePieces(node: SwarmNode, ih: string, pieces: number, timeoutMs: number): Promise<TorrentStats> {
  return until(
    `${pieces} pieces on ${node.host}`,
    async () => {
      const s = await node.stats(ih).catch(() => undefined);
      return s !== undefined && s.have >= pieces ? s : undefined;
    },
    timeoutMs,
    2,
  );
}

/**
 * The torrent's TorrentState (have-set, counters, bans), read through its piece manager's
 * state (the runtime's get_state, as OTP's sys:get_state): what stats do not show.
 */
export async function torrentStateOf(node: SwarmNode, ih: string): Promise<TorrentState> {
  const state: unknown = await node.runtime.getState(names.pieceMgr(ih));
  if (typeof state !== "object" || state === null || !("ts" in state) || !(state.ts instanceof TorrentState)) {
    throw new Error(`piece_mgr of ${ih} on ${node.host}: no TorrentState in its state`);
  }
  return state.ts;
}
