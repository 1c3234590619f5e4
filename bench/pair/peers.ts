/**
 * The two programs the pair bench runs, as seeds and as downloaders: swarmsup's CLI
 * (`seed`, `get`) and bench/lt_node.py (libtorrent). Each spec says how to start the
 * process and how to read its stdout: the line that means "the seed is ready and listens
 * on port P", and the line that means "the download is complete".
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type LtProfile = "default" | "high_performance_seed";

export type PeerSpec = { readonly kind: "swarmsup" } | { readonly kind: "libtorrent"; readonly profile: LtProfile };

export interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

export const PYTHON = "/usr/bin/python3";

/** swarmsup's CLI as the package ships it (bin: the bundle, dist/src/cli/swarmsup.mjs). */
const SWARMSUP_MAIN = fileURLToPath(new URL("../../src/cli/swarmsup.mjs", import.meta.url));

/** bench/lt_node.py is not compiled: find it in the source tree above whichever outDir this build sits in. */
function findLtNode(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, "bench", "lt_node.py");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`bench/lt_node.py not found above ${fileURLToPath(import.meta.url)}`);
}

export const LT_NODE = findLtNode();

export function specName(spec: PeerSpec): string {
  return spec.kind === "swarmsup" ? "swarmsup" : spec.profile === "default" ? "libtorrent(default)" : "libtorrent";
}

export function createCommand(dataFile: string, torrent: string, pieceLength: number): Command {
  return { file: process.execPath, args: [SWARMSUP_MAIN, "create", dataFile, "-o", torrent, "--piece-length", String(pieceLength), "--json"] };
}

/** nodeFlags go to a swarmsup process's node (e.g. --cpu-prof); libtorrent ignores them. */
export function seedCommand(spec: PeerSpec, torrent: string, dataFile: string, nodeFlags: readonly string[] = []): Command {
  switch (spec.kind) {
    case "swarmsup":
      return { file: process.execPath, args: [...nodeFlags, SWARMSUP_MAIN, "seed", torrent, dataFile, "--port", "0", "--host", "127.0.0.1"] };
    case "libtorrent":
      return { file: PYTHON, args: [LT_NODE, "seed", "--torrent", torrent, "--data-dir", dirname(dataFile), "--port", "0", "--profile", spec.profile] };
    default:
      return unreachable(spec);
  }
}

/** The port a seed listens on, once its stdout says it is ready. */
export function readyPort(spec: PeerSpec, line: string): number | undefined {
  const match = spec.kind === "swarmsup" ? /^seeding .* on 127\.0\.0\.1:(\d+)$/.exec(line) : /^READY (\d+)$/.exec(line);
  return match === null ? undefined : Number(match[1]);
}

export function downloaderCommand(spec: PeerSpec, torrent: string, outDir: string, seedPort: number, timeoutSec: number, nodeFlags: readonly string[] = []): Command {
  const peer = `127.0.0.1:${seedPort}`;
  switch (spec.kind) {
    case "swarmsup":
      return { file: process.execPath, args: [...nodeFlags, SWARMSUP_MAIN, "get", torrent, "-o", outDir, "--peer", peer, "--json", "--timeout", String(timeoutSec)] };
    case "libtorrent":
      return { file: PYTHON, args: [LT_NODE, "leech", "--torrent", torrent, "--data-dir", outDir, "--peer", peer, "--profile", spec.profile, "--timeout", String(timeoutSec)] };
    default:
      return unreachable(spec);
  }
}

/**
 * The downloader's "complete" line: swarmsup get --json prints its summary when every piece is
 * verified and written (then stops its node), lt_node.py prints FINISHED on torrent_finished.
 * For swarmsup the summary's own `seconds` comes back too (it counts from the command's start).
 */
export function completion(spec: PeerSpec, line: string): { kind: "complete"; selfReportedSec: number | undefined } | { kind: "other" } {
  if (spec.kind === "libtorrent") return line === "FINISHED" ? { kind: "complete", selfReportedSec: undefined } : { kind: "other" };
  if (!line.startsWith("{")) return { kind: "other" };
  const summary: unknown = JSON.parse(line);
  const seconds = typeof summary === "object" && summary !== null && "seconds" in summary ? summary.seconds : undefined;
  return { kind: "complete", selfReportedSec: typeof seconds === "number" ? seconds : undefined };
}

function unreachable(value: never): never {
  throw new Error(`unknown peer spec ${JSON.stringify(value)}`);
}
