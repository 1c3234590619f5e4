/**
 * `swarmsup swarm`: a whole swarm on this machine (an embedded tracker, one seed, N nodes on
 * their own loopback addresses), chaos as asked, then a report and the invariants checked
 * (src/swarm/run.ts). Exit 0 when every node completed and every invariant held; 1 with one
 * line on stderr naming the first broken invariant (or what failed); 2 for bad flags.
 *
 * `swarmsup swarm-node` (hidden) is one member in its own process, driven by the parent over
 * Node's IPC channel (--mode process).
 */
import { fileURLToPath } from "node:url";
import { Option, type Command } from "commander";
import { log } from "../log.js";
import { inProcessFleet, processFleet } from "../swarm/fleet.js";
import { runNodeProcess } from "../swarm/nodeProcess.js";
import { parseSwarmOptions, SwarmUsageError } from "../swarm/options.js";
import { failureLine, formatReport, summarize } from "../swarm/report.js";
import { runSwarm } from "../swarm/run.js";
import { jobFailed, usageError } from "./errors.js";
import { startProgress } from "./progress.js";
import { waitForSignal } from "./signals.js";

/** Defined `true` by scripts/bundle.mjs in the CLI bundle; undeclared anywhere else. */
declare const SWARMSUP_BUNDLED: boolean;

/**
 * What each node process runs: this CLI as it was started. In the bundle
 * (dist/src/cli/swarmsup.mjs) this module's URL is the bundle itself, so nodes start as fast
 * as the parent did; compiled by tsc only, it is main.js beside this file.
 */
export const NODE_ENTRY = fileURLToPath(typeof SWARMSUP_BUNDLED !== "undefined" && SWARMSUP_BUNDLED ? import.meta.url : new URL("./main.js", import.meta.url));

export function registerSwarm(program: Command): void {
  program
    .command("swarm")
    .description("run a whole swarm here (tracker, seed, N nodes), with chaos, and check its invariants")
    .option("--nodes <n>", "nodes besides the seed", "8")
    .option("--size-mb <mb>", "size of the random payload in MiB (default 64)")
    .option("--piece-length <bytes>", "piece length (a power of two; default: chosen by size)")
    .option("--file <path>", "share this file or directory instead of random bytes")
    .option("--chaos <spec>", 'chaos schedule (docs/CHAOS.md; "none" for none; default: the mild schedule)')
    .option("--seed <n>", "seed of every random choice of the run (default: random, printed)")
    .option("--mode <mode>", "process: each node its own OS process; inprocess: each its own Runtime here", "process")
    .option("--timeout <seconds>", "give up waiting for the nodes after this long (exit 1)", "120")
    .option("--record <file>", "write the run's chaos events as JSON lines")
    .option("--no-audit", "do not read each piece back from disk as it is marked have")
    .option("--json", "print one JSON summary object on stdout, no progress bar")
    .addOption(new Option("--test-sabotage", "test only: flip a byte in node1's data before the check").hideHelp())
    .action(async (options: Record<string, unknown>) => {
      let cli;
      try {
        cli = parseSwarmOptions(options);
      } catch (error) {
        if (error instanceof SwarmUsageError) throw usageError(error.message);
        throw error;
      }
      // Chaos makes warnings and crash reports by design (kills, failed hashes, bans): the
      // report says what happened; SWARMSUP_LOG=warn shows the logs too.
      if (process.env.SWARMSUP_LOG === undefined) log.level = "fatal";
      const fleet = cli.mode === "process" ? processFleet(NODE_ENTRY, { ...process.env, SWARMSUP_LOG: log.level }) : inProcessFleet();
      const progress = startProgress({ label: "swarming", json: cli.json });
      let outcome;
      try {
        // A first Ctrl-C stops the members and removes the run's files; a second one kills.
        const interrupted = waitForSignal().then((signal) => String(signal));
        outcome = await runSwarm(cli.config, { fleet, interrupted, onProgress: (done, total) => progress.update(done, total) });
      } finally {
        progress.stop();
      }
      const summary = summarize(outcome);
      process.stdout.write(cli.json ? `${JSON.stringify(summary)}\n` : formatReport(summary));
      const failure = failureLine(outcome);
      if (failure !== undefined) throw jobFailed(failure);
    });

  program
    .command("swarm-node", { hidden: true })
    .description("one swarm member in its own process (started by swarm --mode process)")
    .action(async () => {
      process.exit(await runNodeProcess());
    });
}
