import { spawnSync } from "node:child_process";
import { describe } from "vitest";

/**
 * Interop tests talk to real clients. On a laptop without them they skip with a loud
 * message; in CI (`REQUIRE_INTEROP=1`, set by .ci/run) a missing client is a failure.
 */
export const PYTHON = "/usr/bin/python3"; // python3-libtorrent is a module of Debian's python only

function probe(what: string, cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? undefined : `${what} is not available (${cmd} ${args.join(" ")}: ${r.error?.message ?? r.stderr.trim()})`;
}

export const libtorrentMissing = (): string | undefined =>
  probe("python3-libtorrent", PYTHON, ["-c", "import libtorrent"]);

export const opentrackerMissing = (): string | undefined =>
  probe("opentracker", "sh", ["-c", "command -v opentracker"]);

/** `describe` that runs when the client is there, skips loudly or fails (CI) when not. */
export function describeInterop(name: string, missing: () => string | undefined, body: () => void): void {
  const why = missing();
  if (why === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.REQUIRE_INTEROP === "1") {
    describe(name, () => {
      throw new Error(`REQUIRE_INTEROP=1 but ${why}`);
    });
    return;
  }
  process.stderr.write(`\n*** SKIPPING interop suite "${name}": ${why} ***\n\n`);
  describe.skip(name, body);
}
