/**
 * `swarmsup tracker`: flags (exit 2), the listening line, serving until a signal (exit 0),
 * a port that cannot be bound (exit 1, one line on stderr). In-process through runTracker,
 * and as a real process from the build.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/errors.js";
import { parseTrackerArgs, runTracker } from "../../src/cli/tracker.js";
import { CLI, runCli } from "../storage/runCli.js";
import { httpAnnounce } from "./serverClient.js";

function usage(options: Record<string, unknown>): CliError | undefined {
  try {
    parseTrackerArgs(options);
    return undefined;
  } catch (error) {
    return error instanceof CliError ? error : undefined;
  }
}

async function takenTcpPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  return { server, port: address.port };
}

describe("swarmsup tracker: flags", () => {
  it("defaults to 127.0.0.1:6969, interval 120, open", () => {
    expect(parseTrackerArgs({})).toEqual({ host: "127.0.0.1", port: 6969, intervalSeconds: 120, privateInfoHashes: undefined });
    const hash = "AB".repeat(20);
    expect(parseTrackerArgs({ port: "0", interval: "30", privateHash: [hash] })).toEqual({ host: "127.0.0.1", port: 0, intervalSeconds: 30, privateInfoHashes: [hash.toLowerCase()] });
  });

  it("bad flags are usage errors (exit 2)", () => {
    for (const bad of [{ port: "70000" }, { port: "x" }, { interval: "0" }, { interval: "1.5" }, { interval: "-3" }, { privateHash: ["abc"] }, { host: "" }]) {
      expect(usage(bad)?.exitCode, JSON.stringify(bad)).toBe(2);
    }
  });
});

describe("swarmsup tracker: in process", () => {
  it("prints where it listens, serves until told to stop, then frees the port", async () => {
    const lines: string[] = [];
    let stopNow!: () => void;
    const until = new Promise<void>((resolve) => (stopNow = resolve));
    let printed!: () => void;
    const listening = new Promise<void>((resolve) => (printed = resolve));
    const run = runTracker({ host: "127.0.0.1", port: 0, intervalSeconds: 45, privateInfoHashes: undefined }, until, (line) => {
      lines.push(line);
      printed();
    });
    await listening;
    const match = /^tracker on 127\.0\.0\.1:(\d+) \(http\+udp\)\n$/.exec(lines[0] ?? "");
    expect(match).not.toBeNull();
    const port = Number(match?.[1]);
    const reply = await httpAnnounce(port, { infoHash: randomBytes(20), peerId: randomBytes(20), port: 7001 });
    expect(reply.get("interval")).toBe(45);
    stopNow();
    await run;
    const udp = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind({ address: "127.0.0.1", port }, resolve);
    });
    udp.close();
  });

  it("a port taken is a failed job (exit 1) that says where and why", async () => {
    const { server, port } = await takenTcpPort();
    try {
      const failure = await runTracker({ host: "127.0.0.1", port, intervalSeconds: 120, privateInfoHashes: undefined }, new Promise(() => undefined), () => undefined).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(CliError);
      expect((failure as CliError).exitCode).toBe(1);
      expect((failure as CliError).message).toBe(`cannot listen on 127.0.0.1:${port} (http): EADDRINUSE`);
    } finally {
      server.close();
    }
  });
});

describe("swarmsup tracker: the command", () => {
  it("runs until SIGTERM and exits 0; one line on stdout", async () => {
    const child = spawn(process.execPath, [CLI, "tracker", "--port", "0", "--interval", "60"], { env: { ...process.env, SWARMSUP_LOG: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const m = /tracker on 127\.0\.0\.1:(\d+) \(http\+udp\)\n/.exec(stdout);
        if (m !== null) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`exited ${code} before listening: ${stdout}`)));
    });
    const reply = await httpAnnounce(port, { infoHash: randomBytes(20), peerId: randomBytes(20), port: 7001 });
    expect(reply.get("interval")).toBe(60);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout.split("\n").filter((l) => l !== "")).toHaveLength(1);
  });

  it("exit 2 for a bad flag, exit 1 with one stderr line for a taken port", async () => {
    expect((await runCli(["tracker", "--interval", "soon"])).code).toBe(2);
    expect((await runCli(["tracker", "--private-hash", "xyz"])).code).toBe(2);
    const { server, port } = await takenTcpPort();
    try {
      const run = await runCli(["tracker", "--port", String(port)]);
      expect(run.code).toBe(1);
      // Besides pino's JSON logs (the crash and start reports), exactly one line for people.
      const prose = run.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
      expect(prose).toEqual([`swarmsup: cannot listen on 127.0.0.1:${port} (http): EADDRINUSE`]);
      expect(run.stdout).toBe("");
    } finally {
      server.close();
    }
  });
});
