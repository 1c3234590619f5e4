import type { Command } from "commander";
import { jobFailed } from "./errors.js";

// Placeholder until its issue lands: the command exists and says so.
export function registerVerify(program: Command): void {
  program.command("verify").description("(not built yet)").action(() => {
    throw jobFailed("'verify' is not built yet");
  });
}
