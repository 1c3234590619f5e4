import type { Command } from "commander";
import { jobFailed } from "./errors.js";

// Placeholder until its issue lands: the command exists and says so.
export function registerDemo(program: Command): void {
  program.command("demo").description("(not built yet)").action(() => {
    throw jobFailed("'demo' is not built yet");
  });
}
