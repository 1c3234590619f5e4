#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { CliError } from "./errors.js";
import { registerCreate } from "./create.js";
import { registerVerify } from "./verify.js";
import { registerDemo } from "./demo.js";
import { registerGet } from "./get.js";
import { registerSeed } from "./seed.js";
import { registerTracker } from "./tracker.js";
import { registerSwarm } from "./swarm.js";
import { tuneV8 } from "./v8Tuning.js";

tuneV8();

const program = new Command();
program
  .name("swarmsup")
  .description("A BitTorrent swarm runtime built the Erlang/OTP way")
  .version("0.1.0")
  .exitOverride();

registerCreate(program);
registerVerify(program);
registerSeed(program);
registerGet(program);
registerTracker(program);
registerDemo(program);
registerSwarm(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0 through here; every other commander error is bad usage.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof CliError) {
    console.error(`swarmsup: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(`swarmsup: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
