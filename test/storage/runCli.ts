import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built CLI as the package ships it, its bin (tests run after `npm run build`; `npm ci` builds through `prepare`). */
export const CLI = fileURLToPath(new URL("../../dist/src/cli/swarmsup.mjs", import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/src/cli/swarmsup.mjs ...args` to completion (stdout is a pipe: no progress bar). */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 60_000, env: { ...process.env, SWARMSUP_LOG: "warn", ...env } },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** stdout as exactly one JSON line. */
export function jsonLine(run: CliRun): unknown {
  const lines = run.stdout.split("\n").filter((line) => line !== "");
  if (lines.length !== 1) throw new Error(`expected one line on stdout, got ${lines.length}: ${run.stdout}`);
  return JSON.parse(lines[0] as string);
}
