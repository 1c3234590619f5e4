/**
 * Where a worker thread's script is. Worker threads cannot load TypeScript, so a worker is
 * always a tsc output file under dist/src/storage/: beside this module when it runs
 * compiled (found as ../storage/ so that it resolves the same from the CLI bundle,
 * dist/src/cli/swarmsup.mjs, where this code is inlined), and when it runs from src/ under
 * vitest (a .ts module URL) the same file under dist/, which `npm run build` (and `npm ci`
 * via `prepare`) produces. A missing build is an error that says so, not a hang; a stale
 * one runs the worker as last built (keep worker scripts small).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function storageWorkerFile(script: string, moduleUrl: string = import.meta.url): string {
  const fromSources = new URL(moduleUrl).pathname.endsWith(".ts");
  const url = fromSources ? new URL(`../../dist/src/storage/${script}`, moduleUrl) : new URL(`../storage/${script}`, moduleUrl);
  const file = fileURLToPath(url);
  if (!existsSync(file)) {
    throw new Error(`the worker script ${file} does not exist: run \`npm run build\` first`);
  }
  return file;
}
