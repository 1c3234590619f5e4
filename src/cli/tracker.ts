/**
 * `swarmsup tracker [--host H] [--port P] [--interval S] [--private-hash HEX]...`: run the
 * embedded tracker (HTTP and UDP on one port) under tracker_sup until SIGINT/SIGTERM, then
 * exit 0. One line on stdout once it listens. Exit 2 for bad flags; 1 when the port cannot
 * be bound or the tracker stops on its own (its supervisor gave up).
 */
import type { Command } from "commander";
import { log } from "../log.js";
import { Reason, Runtime, StartError, startSupervisor, type ExitReason, type Pid } from "../runtime/index.js";
import { trackerAddress, TRACKER_SERVER } from "../../actors/trackerServer.js";
import { TRACKER_SUP, trackerSup } from "../../supervisors/trackerSup.js";
import { jobFailed, usageError } from "./errors.js";
import { portArg } from "./get.js";
import { waitForSignal } from "./signals.js";

export interface TrackerArgs {
  readonly host: string;
  readonly port: number;
  readonly intervalSeconds: number;
  /** undefined: an open tracker. */
  readonly privateInfoHashes: readonly string[] | undefined;
}

const MAX_INTERVAL_SECONDS = 86_400;

export function registerTracker(program: Command): void {
  program
    .command("tracker")
    .description("run a BitTorrent tracker, HTTP and UDP on one port, until interrupted")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port for both HTTP (/announce, /scrape) and UDP", "6969")
    .option("--interval <seconds>", "announce interval given to clients; peers expire after 1.5 intervals", "120")
    .option("--private-hash <hex>", "serve only this info-hash (repeatable; makes the tracker private)", collect, [])
    .action(async (options: Record<string, unknown>) => {
      await runTracker(parseTrackerArgs(options), waitForSignal(), (line) => process.stdout.write(line));
    });
}

export function parseTrackerArgs(options: Record<string, unknown>): TrackerArgs {
  const host = String(options.host ?? "127.0.0.1");
  if (host.length === 0) throw usageError("--host: empty");
  const intervalText = String(options.interval ?? "120");
  const intervalSeconds = Number(intervalText);
  if (!/^\d+$/.test(intervalText) || intervalSeconds < 1 || intervalSeconds > MAX_INTERVAL_SECONDS) {
    throw usageError(`--interval ${intervalText}: not a whole number of seconds from 1 to ${MAX_INTERVAL_SECONDS}`);
  }
  const hashes = Array.isArray(options.privateHash) ? options.privateHash.map(String) : [];
  for (const hash of hashes) {
    if (!/^[0-9a-fA-F]{40}$/.test(hash)) throw usageError(`--private-hash ${hash}: an info-hash is 40 hex digits`);
  }
  return {
    host,
    port: portArg(String(options.port ?? "6969")),
    intervalSeconds,
    privateInfoHashes: hashes.length === 0 ? undefined : hashes.map((h) => h.toLowerCase()),
  };
}

/** Runs until `until` settles (a signal in the CLI), or fails when the tracker's supervisor exits. */
export async function runTracker(args: TrackerArgs, until: Promise<unknown>, print: (line: string) => void): Promise<void> {
  const runtime = new Runtime({ label: "tracker" });
  const spec = trackerSup({
    host: args.host,
    port: args.port,
    limits: { intervalSeconds: args.intervalSeconds },
    ...(args.privateInfoHashes === undefined ? {} : { privateInfoHashes: args.privateInfoHashes }),
  });
  let sup: Pid;
  try {
    sup = await startSupervisor(spec, { runtime, name: TRACKER_SUP, link: false });
  } catch (error) {
    if (error instanceof StartError) throw jobFailed(startFailureText(error, args));
    throw error;
  }
  try {
    const { host, port } = await trackerAddress(runtime, TRACKER_SERVER);
    print(`tracker on ${host.includes(":") ? `[${host}]` : host}:${port} (http+udp)\n`);
    const ended = await Promise.race([until.then(() => undefined), runtime.awaitExit(sup)]);
    if (ended !== undefined) throw jobFailed(`the tracker stopped: ${describe(ended)}`);
    log.info("tracker stopping");
  } finally {
    if (runtime.isAlive(sup)) await runtime.stop(sup, Reason.shutdown());
  }
}

/** The bind error's own words ("cannot listen on 127.0.0.1:6969 (udp): EADDRINUSE"), out of the supervisor's wrapping. */
function startFailureText(error: StartError, args: TrackerArgs): string {
  const reason = error.reason;
  const detail = reason.kind === "shutdown" ? reason.detail : undefined;
  const inner = typeof detail === "object" && detail !== null ? (detail as { reason?: unknown }).reason : undefined;
  if (typeof inner === "string") return inner.replace(/^error: \w+: /, "");
  return `cannot run a tracker on ${args.host}:${args.port}: ${error.message}`;
}

function describe(reason: ExitReason): string {
  return reason.kind === "error" && reason.error instanceof Error ? reason.error.message : reason.kind;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
