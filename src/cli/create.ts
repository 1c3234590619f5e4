import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Command } from "commander";
import { MetainfoError } from "../protocol/errors.js";
import { createTorrentFrom, type CreatedTorrent } from "../storage/create.js";
import { oneShotHasher } from "../storage/hashPool.js";
import { pieceLengthProblem } from "../storage/pieceLength.js";
import { PayloadReadError } from "../storage/pieceSource.js";
import { PayloadScanError, scanPayload } from "../storage/scan.js";
import { jobFailed, usageError } from "./errors.js";
import { formatBytes, startProgress } from "./progress.js";

/** `create`'s arguments once checked: everything here is known to be usable. */
export interface CreateArgs {
  readonly path: string;
  readonly output: string;
  readonly announce: readonly string[];
  readonly webSeeds: readonly string[];
  readonly pieceLength: number | undefined;
  readonly private: boolean;
  readonly name: string | undefined;
  readonly json: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerCreate(program: Command): void {
  program
    .command("create")
    .description("make a .torrent of a file or a directory (hashing on all cores)")
    .argument("<path>", "the file or directory to share")
    .requiredOption("-o, --output <file>", "where to write the .torrent")
    .option("--announce <url>", "tracker URL (http, https, udp); repeat for more, each its own tier", collect, [])
    .option("--piece-length <bytes>", "piece length, a power of two from 16384 to 67108864 (default: aim at <= 2048 pieces)")
    .option("--web-seed <url>", "BEP 19 web seed URL (http, https); repeat for more", collect, [])
    .option("--private", "set the BEP 27 private flag (trackers only: no DHT, PEX or LSD)")
    .option("--name <name>", "the torrent's name (default: the base name of <path>)")
    .option("--json", "print one JSON summary object on stdout, no progress bar")
    .action(async (path: string, options: Record<string, unknown>) => {
      await runCreate(parseCreateArgs(path, options));
    });
}

/** Pure: checks what commander collected; any problem is bad usage (exit 2). */
export function parseCreateArgs(path: string, options: Record<string, unknown>): CreateArgs {
  const output = options.output;
  if (typeof output !== "string" || output === "") throw usageError("create: -o/--output needs a file name");
  const announce = stringList(options.announce, "--announce");
  for (const url of announce) checkUrl(url, "--announce", ["http:", "https:", "udp:"]);
  const webSeeds = stringList(options.webSeed, "--web-seed");
  for (const url of webSeeds) checkUrl(url, "--web-seed", ["http:", "https:"]);
  return {
    path,
    output,
    announce,
    webSeeds,
    pieceLength: options.pieceLength === undefined ? undefined : parsePieceLength(options.pieceLength),
    private: options.private === true,
    name: options.name === undefined ? undefined : checkName(options.name),
    json: options.json === true,
  };
}

async function runCreate(args: CreateArgs): Promise<void> {
  const scanned = await scanPayload(args.path).catch((err: unknown) => {
    throw err instanceof PayloadScanError ? jobFailed(`create: ${err.message}`) : err;
  });
  const hasher = oneShotHasher(scanned.length);
  const progress = startProgress({ label: "hashing", json: args.json });
  let created: CreatedTorrent;
  try {
    created = await createTorrentFrom(scanned, {
      hasher,
      announce: args.announce,
      webSeeds: args.webSeeds,
      private: args.private,
      createdBy: "swarmsup/0.1.0",
      onProgress: (done, total) => progress.update(done, total),
      name: args.name,
      pieceLength: args.pieceLength,
    });
  } catch (err) {
    // MetainfoError here: the data holds something a torrent cannot carry (e.g. two names equal once sanitized).
    if (err instanceof PayloadScanError || err instanceof PayloadReadError || err instanceof MetainfoError) {
      throw jobFailed(`create: ${err.message}`);
    }
    throw err;
  } finally {
    progress.stop();
    await hasher.close();
  }
  await writeAtomically(args.output, created.torrent);
  const { metainfo } = created;
  if (args.json) {
    console.log(
      JSON.stringify({ infoHash: metainfo.infoHashHex, pieces: metainfo.pieceCount, pieceLength: metainfo.pieceLength, bytes: metainfo.length }),
    );
    return;
  }
  console.log(
    `created ${args.output}: "${metainfo.name}", ${formatBytes(metainfo.length)} in ${metainfo.pieceCount} pieces of ` +
      `${formatBytes(metainfo.pieceLength)}, info-hash ${metainfo.infoHashHex}`,
  );
}

/** A crash or a full disk leaves the old file or none, never half a .torrent. */
async function writeAtomically(file: string, bytes: Buffer): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw jobFailed(`create: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parsePieceLength(value: unknown): number {
  if (typeof value !== "string" || !/^[0-9]+$/.test(value)) {
    throw usageError(`create: --piece-length takes a number of bytes, got ${JSON.stringify(value)}`);
  }
  const length = Number(value);
  const problem = pieceLengthProblem(length);
  if (problem !== undefined) throw usageError(`create: --piece-length: ${problem}`);
  return length;
}

function checkName(value: unknown): string {
  const bad =
    typeof value !== "string" || value === "" || value === "." || value === ".." || /[/\\]/.test(value) || /[\u0000-\u001f\u007f]/.test(value);
  if (bad) throw usageError(`create: --name must be one non-empty file name without slashes or control characters, got ${JSON.stringify(value)}`);
  return value;
}

function stringList(value: unknown, flag: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) throw usageError(`create: bad ${flag}`);
  return value;
}

function checkUrl(value: string, flag: string, protocols: readonly string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`create: ${flag} ${JSON.stringify(value)} is not a URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw usageError(`create: ${flag} ${JSON.stringify(value)}: the scheme must be one of ${protocols.map((p) => p.slice(0, -1)).join(", ")}`);
  }
}
