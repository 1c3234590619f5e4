/**
 * `swarmsup get <file.torrent | magnet-uri> -o <dir>`: download into DIR/<name>, then exit
 * (or keep seeding with --seed-after). Peers come from --peer (trackers arrive with issue 6).
 * Exit 0 when every piece is verified and written; 1 on timeout or a failed node; 2 for bad
 * usage or a bad .torrent.
 */
import type { Command } from "commander";
import { parseHostPort } from "../protocol/hostPort.js";
import type { PeerAddress } from "../../actors/torrentCtl.js";
import { SwarmNode } from "../node.js";
import { PROFILES, isProfile, type Profile } from "../../actors/choker/config.js";
import { usageError, jobFailed } from "./errors.js";
import { startProgress } from "./progress.js";
import { loadTorrent } from "./verify.js";
import { waitForSignal } from "./signals.js";

export interface GetSummary {
  readonly infoHash: string;
  readonly bytes: number;
  readonly downloaded: number;
  readonly seconds: number;
  readonly peers: number;
  readonly hashFails: number;
}

export function registerGet(program: Command): void {
  program
    .command("get")
    .description("download a torrent into a directory")
    .argument("<torrent>", "a .torrent file (magnet links need BEP 9 metadata exchange: not built yet)")
    .requiredOption("-o, --output <dir>", "download directory: files land in DIR/<name>")
    .option("--port <port>", "port to listen on for incoming peers (0 picks a free port)", "0")
    .option("--host <host>", "address to bind (listening and outgoing connections)", "127.0.0.1")
    .option("--peer <host:port>", "a peer to connect to (repeatable)", collect, [])
    .option("--seed-after", "keep seeding after the download completes, until SIGINT/SIGTERM")
    .option("--timeout <seconds>", "give up after this many seconds (exit 1)")
    .option("--json", "print one JSON summary object on stdout, no progress bar")
    .option("--profile <profile>", `choking and timeouts: ${PROFILES.join(" | ")} (datacenter: no tit-for-tat, 64 slots, 5 s snub, 3 s re-announce)`, "default")
    .action(async (torrent: string, options: Record<string, unknown>) => {
      if (torrent.startsWith("magnet:")) {
        throw usageError("magnet links need metadata exchange (BEP 9), which is not built yet: give a .torrent file");
      }
      const json = options.json === true;
      const peers = (options.peer as string[]).map(peerArg);
      const port = portArg(String(options.port));
      const profile = profileArg(String(options.profile));
      const timeoutSec = options.timeout === undefined ? undefined : positiveNumber("--timeout", String(options.timeout));
      const meta = await loadTorrent(torrent);
      const started = Date.now();
      const node = await SwarmNode.start({ host: String(options.host), port, profile });
      const progress = startProgress({ label: "downloading", json });
      const ticker = setInterval(() => {
        node.stats(meta.infoHashHex).then(
          (s) => progress.update(s.phase === "checking" ? s.checkedBytes : s.have * meta.pieceLength, meta.length),
          () => undefined, // the torrent may be restarting under its supervisor; the next tick asks again
        );
      }, 250);
      try {
        await node.addTorrent({ meta, location: { kind: "downloadDir", dir: String(options.output) }, peers });
        const stats = await node.await(meta.infoHashHex, "complete", timeoutSec === undefined ? Infinity : timeoutSec * 1000 - (Date.now() - started));
        clearInterval(ticker);
        progress.stop();
        const summary: GetSummary = {
          infoHash: meta.infoHashHex,
          bytes: meta.length,
          downloaded: stats.counters.downloaded,
          seconds: (Date.now() - started) / 1000,
          peers: stats.counters.peersSeen,
          hashFails: stats.counters.hashFails,
        };
        process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `done: ${meta.name}, ${summary.downloaded} of ${summary.bytes} bytes fetched in ${summary.seconds.toFixed(1)} s from ${summary.peers} peer(s)\n`);
        if (options.seedAfter === true) await waitForSignal();
      } catch (err) {
        if (err instanceof Error && err.name === "TimeoutError") {
          const s = await node.stats(meta.infoHashHex).catch(() => undefined);
          throw jobFailed(`timed out after ${timeoutSec} s with ${s?.have ?? "?"} of ${meta.pieceCount} pieces`);
        }
        throw err;
      } finally {
        clearInterval(ticker);
        progress.stop();
        await node.stop();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function peerArg(text: string): PeerAddress {
  const v = parseHostPort(text);
  switch (v.kind) {
    case "accepted":
      return { host: v.host, port: v.port };
    case "rejected":
      throw usageError(`--peer ${text}: ${v.reason}`);
  }
}

export function profileArg(text: string): Profile {
  if (!isProfile(text)) throw usageError(`--profile ${text}: not one of ${PROFILES.join(", ")}`);
  return text;
}

export function portArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError(`--port ${text}: not a port number (0-65535)`);
  return n;
}

function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw usageError(`${flag} ${text}: not a positive number`);
  return n;
}
