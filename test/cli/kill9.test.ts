/**
 * Invariant 5 end to end (issue 6, item 4): a real `swarmsup get` process is killed with
 * SIGKILL half-way through a download and started again on the same directory. It must
 * finish with every byte right and fetch only what was not verified and written before the
 * kill.
 *
 * Set-up: a two-file torrent (a.bin 4 MiB, b.bin 28 MiB, 64 KiB pieces: a.bin is pieces
 * 0-63). a.bin is already complete in the download directory (an hour old), so the resume
 * file vouches for a file nobody touched after its save. A `swarmsup seed` serves the data
 * through a loopback relay capped at 2 MiB/s, so the first resume save (5 s after start)
 * lands mid-download. The kill comes once a save claims >= 35% of the pieces AND at least
 * 1 MiB more has been written to disk since (so some verified pieces are newer than the
 * resume file: the crash case, not the clean one).
 *
 * The bound: after the kill, `swarmsup verify` says which pieces are verified and on disk
 * (V of N). The restarted get (straight to the seed, no cap) must report
 * downloaded == (N - V) x 64 KiB exactly: pieces in flight at the kill were never written
 * so they are not in V, and every piece in V is found again and not fetched. A third run
 * after the clean exit must fetch nothing and read nothing.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, readFile, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeResume } from "../../src/storage/resume/format.js";
import { CLI, LineProcess, MiB, KiB, digestTree, runCli, seedPort, sortedEntries, startCli, stoppedAfterEach, suiteDir, until, writePayload } from "../helpers/swarm.js";
import { startThrottle } from "./kill9-throttle.js";

const PIECE = 64 * KiB;
const A_BYTES = 4 * MiB;
const B_BYTES = 28 * MiB;
const A_PIECES = A_BYTES / PIECE;
const RATE = 2 * MiB;

/** `swarmsup get` with info logs on stderr (the start-up check's summary is one of them). */
function startGet(label: string, args: readonly string[]): LineProcess {
  const child = spawn(process.execPath, [CLI, "get", ...args], { env: { ...process.env, SWARMSUP_LOG: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  return new LineProcess(label, child);
}

/** The claimed pieces of a resume file, or undefined while there is none (or it is mid-replace). */
async function claimedPieces(file: string, pieceCount: number): Promise<number[] | undefined> {
  const bytes = await readFile(file).catch(() => undefined);
  if (bytes === undefined) return undefined;
  const out = decodeResume(bytes);
  if (out.kind !== "decoded") return undefined;
  const claimed: number[] = [];
  for (let p = 0; p < pieceCount; p++) if (((out.data.have[p >> 3] ?? 0) & (0x80 >> (p & 7))) !== 0) claimed.push(p);
  return claimed;
}

/** Bytes the file system has allocated for these files (sparse files: what was written). */
async function allocated(paths: readonly string[]): Promise<number> {
  let sum = 0;
  for (const p of paths) sum += await stat(p).then((s) => s.blocks * 512, () => 0);
  return sum;
}

interface CheckDone {
  readonly source: string;
  readonly trusted: number;
  readonly read: number;
  readonly skipped: number;
  readonly valid: number;
  readonly files: Record<string, number>;
}

function checkDoneOf(stderr: string): CheckDone {
  for (const line of stderr.split("\n")) {
    if (!line.includes('"msg":"check done"')) continue;
    return JSON.parse(line) as CheckDone;
  }
  throw new Error(`no "check done" log line in: ${stderr.slice(-2000)}`);
}

interface GetSummary {
  readonly bytes: number;
  readonly downloaded: number;
}

async function finish(p: LineProcess): Promise<{ summary: GetSummary; check: CheckDone }> {
  const code = await p.exitCode(60_000);
  expect(code, p.stderr.slice(-2000)).toBe(0);
  const last = p.lines.filter((l) => l.trim() !== "").at(-1) ?? "";
  return { summary: JSON.parse(last) as GetSummary, check: checkDoneOf(p.stderr) };
}

describe("kill -9 mid-download, then the same get again", () => {
  const root = suiteDir("kill9", (dir) =>
    writePayload(join(dir, "orig", "payload"), [
      { path: "a.bin", size: A_BYTES },
      { path: "b.bin", size: B_BYTES },
    ]),
  );
  const running = stoppedAfterEach();

  it("finishes with every byte right, fetching only what was not verified and written before the kill", async () => {
    const data = join(root(), "orig", "payload");
    const torrent = join(root(), "p.torrent");
    const made = await runCli("create", ["create", data, "-o", torrent, "--piece-length", String(PIECE), "--json"], 30_000);
    expect(made.code, made.stderr).toBe(0);
    const { infoHash, bytes, pieces } = made.json as { infoHash: string; bytes: number; pieces: number };
    expect(pieces * PIECE).toBe(bytes);

    const seed = startCli("seed", ["seed", torrent, data, "--port", "0"]);
    running.push(seed);
    const port = await seedPort(seed, 20_000);
    const throttle = await startThrottle(port, RATE);

    const out = join(root(), "out");
    const files = [join(out, "payload", "a.bin"), join(out, "payload", "b.bin")];
    await mkdir(join(out, "payload"), { recursive: true });
    await copyFile(join(data, "a.bin"), files[0] as string);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(files[0] as string, hourAgo, hourAgo);
    const resumeFile = join(out, ".swarmsup", `${infoHash}.resume`);

    // 1. Download through the 2 MiB/s relay; SIGKILL once a save is in and more was written since.
    const first = startGet("get-1", [torrent, "-o", out, "--peer", `127.0.0.1:${throttle.port}`, "--json"]);
    running.push(first);
    let claimedAtKill: number[] = [];
    try {
      claimedAtKill = await until(
        "a resume save claiming >= 35% of the pieces, and 1 MiB written after it",
        async () => {
          const claimed = await claimedPieces(resumeFile, pieces);
          if (claimed === undefined || claimed.length < 0.35 * pieces) return undefined;
          return (await allocated(files)) >= claimed.length * PIECE + MiB ? claimed : undefined;
        },
        40_000,
        20,
      );
      first.child.kill("SIGKILL");
      await first.exitCode(10_000);
      expect(first.child.signalCode).toBe("SIGKILL");
    } finally {
      await throttle.close();
    }
    expect(claimedAtKill.length).toBeLessThan(pieces);

    // What is verified and on disk after the kill: every claimed piece is there, and more.
    const verified = await runCli("verify", ["verify", torrent, join(out, "payload"), "--json"], 30_000);
    const onDisk = verified.json as { pieces: number; valid: number; invalid: number[]; missing: number[] };
    const bad = new Set([...onDisk.invalid, ...onDisk.missing]);
    expect(claimedAtKill.filter((p) => bad.has(p))).toEqual([]);
    expect(onDisk.valid).toBeGreaterThan(claimedAtKill.length);
    expect(onDisk.valid).toBeLessThan(pieces);

    // 2. The same get again, straight to the seed.
    const second = await finish(startGet("get-2", [torrent, "-o", out, "--peer", `127.0.0.1:${port}`, "--json"]));
    expect(second.summary.bytes).toBe(bytes);
    expect(second.summary.downloaded).toBe((pieces - onDisk.valid) * PIECE);
    // a.bin is vouched for unread; b.bin was written after the save, so all of it is read.
    expect(second.check).toMatchObject({ source: "resume", trusted: A_PIECES, read: pieces - A_PIECES, skipped: 0, files: { touched: 1 } });
    expect(second.check.valid).toBe(onDisk.valid - A_PIECES);
    expect(sortedEntries(await digestTree(join(out, "payload")))).toEqual(sortedEntries(await digestTree(data)));

    // 3. After that clean exit: nothing fetched, nothing read.
    const third = await finish(startGet("get-3", [torrent, "-o", out, "--peer", `127.0.0.1:${port}`, "--json"]));
    expect(third.summary.downloaded).toBe(0);
    expect(third.check).toMatchObject({ source: "resume", trusted: pieces, read: 0, skipped: 0 });

    process.stderr.write(
      `kill9: ${pieces} pieces of ${PIECE} B; at the kill the resume file claimed ${claimedAtKill.length}, ` +
        `${onDisk.valid} were verified on disk; the restart downloaded ${second.summary.downloaded} B ` +
        `(= ${pieces - onDisk.valid} pieces) of ${bytes} B, read ${second.check.read} pieces and trusted ${second.check.trusted}\n`,
    );
    expect(await seed.stop()).toBe(0);
  }, 90_000);
});
