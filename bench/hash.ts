/**
 * npm run bench:hash — how fast `swarmsup create` and `swarmsup verify` hash, beside
 * `sha1sum` (one core) and libtorrent's create_torrent + set_piece_hashes on the same
 * file in the same run. Every figure is the wall time of the whole command as a user
 * runs it (process start-up included), median of interleaved rounds, with the file in
 * the page cache (read once before timing), so the disk is not what is measured.
 *
 * The machine is shared (other jobs take a core now and then, which halves a
 * two-thread hasher and leaves one-core sha1sum alone), so it prints the median and
 * the best of the rounds, and ratios from both.
 *
 * Env: BENCH_HASH_MB (default 1024), BENCH_ROUNDS (default 5), BENCH_PIECE_LENGTH
 * (default: swarmsup's automatic choice, which libtorrent is given too).
 */
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseMetainfo } from "../src/protocol/metainfo.js";
import { createHashPool } from "../src/storage/hashPool.js";
import type { HashStrategy } from "../src/storage/pieceHashing.js";
import { autoPieceLength } from "../src/storage/pieceLength.js";
import { verifyPayload } from "../src/storage/verify.js";

const MiB = 1024 * 1024;
const sizeMb = Number(process.env.BENCH_HASH_MB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const bytes = sizeMb * MiB;
const pieceLength = Number(process.env.BENCH_PIECE_LENGTH ?? autoPieceLength(bytes));
const cli = fileURLToPath(new URL("../src/cli/swarmsup.mjs", import.meta.url));
const PYTHON = "/usr/bin/python3";

const LIBTORRENT_CREATE = `
import sys, time, os
import libtorrent as lt
path, piece_length = sys.argv[1], int(sys.argv[2])
fs = lt.file_storage()
lt.add_files(fs, path)
t = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v1_only)
start = time.monotonic()
lt.set_piece_hashes(t, os.path.dirname(path))
hashing = time.monotonic() - start
info = lt.torrent_info(lt.bencode(t.generate()))
print(str(info.info_hash()), hashing)
`;

interface Timed {
  readonly seconds: number;
  readonly stdout: string;
}

function run(command: string, args: readonly string[]): Timed {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 16 * MiB, env: { ...process.env, SWARMSUP_LOG: "warn" } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${String(result.status)}: ${result.stderr || String(result.error)}`);
  }
  return { seconds, stdout: result.stdout };
}

function writePayload(file: string): void {
  const chunk = Buffer.allocUnsafe(64 * MiB);
  const fd = openSync(file, "w");
  try {
    for (let written = 0; written < bytes; written += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads the file once so every tool below finds it in the page cache. */
function warm(file: string): void {
  const chunk = Buffer.allocUnsafe(16 * MiB);
  const fd = openSync(file, "r");
  try {
    while (readSync(fd, chunk, 0, chunk.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const mbPerSecond = (seconds: number): number => bytes / 1e6 / seconds;
const rounded = (values: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v * 100) / 100]));

/**
 * The two pipeline strategies in this process (no process start-up): main-thread reads
 * moved to the workers vs the workers reading for themselves (filePiece.ts).
 */
async function compareStrategies(torrent: string, file: string): Promise<Record<HashStrategy, number>> {
  const meta = parseMetainfo(readFileSync(torrent));
  const hasher = createHashPool();
  const strategies: HashStrategy[] = ["transfer", "workerReads"];
  const times: Record<HashStrategy, number[]> = { transfer: [], workerReads: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const strategy of strategies) {
        const started = process.hrtime.bigint();
        const result = await verifyPayload({ meta, paths: [file], hasher, strategy });
        times[strategy].push(Number(process.hrtime.bigint() - started) / 1e9);
        if (result.valid !== result.pieces) throw new Error(`in-process verify (${strategy}) found bad pieces`);
      }
    }
  } finally {
    await hasher.close();
  }
  return { transfer: median(times.transfer), workerReads: median(times.workerReads) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "swarmsup-bench-hash-"));
  const file = join(dir, "payload.bin");
  const torrent = join(dir, "payload.torrent");
  try {
    writePayload(file);
    warm(file);
    const commands = {
      sha1sum: ["sha1sum", [file]],
      create: [process.execPath, [cli, "create", file, "-o", torrent, "--piece-length", String(pieceLength), "--json"]],
      verify: [process.execPath, [cli, "verify", torrent, file, "--json"]],
      libtorrent: [PYTHON, ["-c", LIBTORRENT_CREATE, file, String(pieceLength)]],
    } as const satisfies Record<string, readonly [string, readonly string[]]>;
    type Name = keyof typeof commands;
    const names = Object.keys(commands) as Name[];
    const times: Record<Name, number[]> = { sha1sum: [], create: [], verify: [], libtorrent: [] };
    const outputs: Partial<Record<Name, string>> = {};

    console.log(
      `bench:hash — ${sizeMb} MiB random file, piece length ${pieceLength / 1024} KiB, ` +
        `${availableParallelism()} cores, median of ${rounds} interleaved rounds, page cache warm`,
    );
    for (const name of names) {
      const [command, args] = commands[name];
      const shown = name === "libtorrent" ? `${command} -c <create_torrent v1_only + set_piece_hashes> ${args.slice(2).join(" ")}` : `${command} ${args.join(" ")}`;
      console.log(`  ${name.padEnd(10)} ${shown}`);
    }
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        const [command, args] = commands[name];
        const timed = run(command, args);
        times[name].push(timed.seconds);
        outputs[name] = timed.stdout;
      }
    }

    const created: unknown = JSON.parse(outputs.create ?? "null");
    const verified: unknown = JSON.parse(outputs.verify ?? "null");
    const libtorrentHash = (outputs.libtorrent ?? "").trim().split(/\s+/)[0];
    const ourHash = typeof created === "object" && created !== null && "infoHash" in created ? created.infoHash : undefined;
    const allValid =
      typeof verified === "object" && verified !== null && "valid" in verified && "pieces" in verified && verified.valid === verified.pieces;

    const seconds = Object.fromEntries(names.map((name) => [name, median(times[name])])) as Record<Name, number>;
    const best = Object.fromEntries(names.map((name) => [name, Math.min(...times[name])])) as Record<Name, number>;
    console.log("");
    for (const name of names) {
      console.log(`  ${name.padEnd(10)} ${seconds[name].toFixed(3).padStart(7)} s  ${mbPerSecond(seconds[name]).toFixed(0).padStart(5)} MB/s   (runs: ${times[name].map((t) => t.toFixed(3)).join(", ")})`);
    }
    const ratiosOf = (t: Record<Name, number>) => ({
      createVsSha1sum: t.sha1sum / t.create,
      verifyVsSha1sum: t.sha1sum / t.verify,
      createVsLibtorrent: t.libtorrent / t.create,
    });
    const ratios = ratiosOf(seconds);
    const bestRatios = ratiosOf(best);
    for (const [label, r] of [["median", ratios], ["best", bestRatios]] as const) {
      console.log(
        `  speed ratios (${label}): create/sha1sum ${r.createVsSha1sum.toFixed(2)}x, verify/sha1sum ${r.verifyVsSha1sum.toFixed(2)}x, ` +
          `create/libtorrent ${r.createVsLibtorrent.toFixed(2)}x (target: create and verify >= 1.6x sha1sum)`,
      );
    }
    console.log(`  checks: verify all valid: ${allValid}; info-hash equals libtorrent's v1 torrent: ${ourHash === libtorrentHash}`);
    const inProcess = await compareStrategies(torrent, file);
    console.log(
      `  in-process verify, pool strategies: transfer (main thread reads, pieces moved) ${inProcess.transfer.toFixed(3)} s ` +
        `${mbPerSecond(inProcess.transfer).toFixed(0)} MB/s; workerReads (workers read) ${inProcess.workerReads.toFixed(3)} s ` +
        `${mbPerSecond(inProcess.workerReads).toFixed(0)} MB/s`,
    );
    console.log(
      JSON.stringify({
        bench: "hash",
        bytes,
        pieceLength,
        rounds,
        cores: availableParallelism(),
        seconds,
        mbPerSecond: Object.fromEntries(names.map((name) => [name, Math.round(mbPerSecond(seconds[name]))])),
        ratios: rounded(ratios),
        bestSeconds: best,
        bestRatios: rounded(bestRatios),
        inProcessVerifySeconds: inProcess,
        allValid,
        sameInfoHashAsLibtorrent: ourHash === libtorrentHash,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
