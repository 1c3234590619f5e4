import type { Command } from "commander";
import { jobFailed } from "./errors.js";

// Placeholder until its issue lands: the command exists and says so.
export function registerCreate(program: Command): void {
  program.command("create").description("(not built yet)").action(() => {
    throw jobFailed("'create' is not built yet");
  });
}
