/**
 * `swarmsup get <file.torrent | magnet-uri> -o <dir>`: download into DIR/<name>, then exit
 * (or keep seeding with --seed-after). Peers come from --peer and the torrent's trackers; a
 * magnet link's metadata (BEP 9) is first asked of --peer and the link's x.pe peers.
 * Exit 0 when every piece is verified and written; 1 on timeout or a failed node; 2 for bad
 * usage or a bad .torrent.
 */
import type { Command } from "commander";
import { parseHostPort } from "../protocol/hostPort.js";
import type { PeerAddress, TorrentStats } from "../../actors/torrentCtl.js";
import type { MagnetLink, Metainfo } from "../protocol/types.js";
import { parseMagnet } from "../protocol/magnet.js";
import { BencodeError, MagnetError, MetainfoError } from "../protocol/errors.js";
import { metainfoFromInfo } from "../protocol/metainfoFromInfo.js";
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
    .argument("<torrent>", "a .torrent file, or a magnet link (its metadata is asked of --peer and x.pe peers)")
    .requiredOption("-o, --output <dir>", "download directory: files land in DIR/<name>")
    .option("--port <port>", "port to listen on for incoming peers (0 picks a free port)", "0")
    .option("--host <host>", "address to bind (listening and outgoing connections)", "127.0.0.1")
    .option("--peer <host:port>", "a peer to connect to (repeatable)", collect, [])
    .option("--seed-after", "keep seeding after the download completes, until SIGINT/SIGTERM")
    .option("--timeout <seconds>", "give up after this many seconds (exit 1)")
    .option("--json", "print one JSON summary object on stdout, no progress bar")
    .option("--profile <profile>", `choking and timeouts: ${PROFILES.join(" | ")} (datacenter: no tit-for-tat, 64 slots, 5 s snub, 3 s re-announce)`, "default")
    .action(async (torrent: string, options: Record<string, unknown>) => {
      const json = options.json === true;
      const peers = (options.peer as string[]).map(peerArg);
      const port = portArg(String(options.port));
      const profile = profileArg(String(options.profile));
      const timeoutSec = options.timeout === undefined ? undefined : positiveNumber("--timeout", String(options.timeout));
      const source = torrent.startsWith("magnet:") ? magnetSource(torrent, peers) : ({ kind: "file", meta: await loadTorrent(torrent) } as const);
      const started = Date.now();
      const deadline = timeoutSec === undefined ? Infinity : started + timeoutSec * 1000;
      const node = await SwarmNode.start({ host: String(options.host), port, profile });
      try {
        const meta = source.kind === "file" ? source.meta : await metadataOf(node, source, deadline, timeoutSec);
        const all = source.kind === "file" ? peers : source.askPeers; // a magnet's x.pe peers are the torrent's peers too
        const stats = await download(node, meta, { peers: all, dir: String(options.output), json, deadline, timeoutSec });
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
      } finally {
        await node.stop();
      }
    });
}

interface DownloadOptions {
  readonly peers: readonly PeerAddress[];
  readonly dir: string;
  readonly json: boolean;
  readonly deadline: number;
  readonly timeoutSec: number | undefined;
}

async function download(node: SwarmNode, meta: Metainfo, o: DownloadOptions): Promise<TorrentStats> {
  const progress = startProgress({ label: "downloading", json: o.json });
  const ticker = setInterval(() => {
    node.stats(meta.infoHashHex).then(
      (s) => progress.update(s.phase === "checking" ? s.checkedBytes : s.have * meta.pieceLength, meta.length),
      () => undefined, // the torrent may be restarting under its supervisor; the next tick asks again
    );
  }, 250);
  try {
    await node.addTorrent({ meta, location: { kind: "downloadDir", dir: o.dir }, peers: o.peers });
    return await node.await(meta.infoHashHex, "complete", o.deadline - Date.now());
  } catch (err) {
    if (err instanceof Error && err.name === "TimeoutError") {
      const s = await node.stats(meta.infoHashHex).catch(() => undefined);
      throw jobFailed(`timed out after ${o.timeoutSec} s with ${s?.have ?? "?"} of ${meta.pieceCount} pieces`);
    }
    throw err;
  } finally {
    clearInterval(ticker);
    progress.stop();
  }
}

interface MagnetSource {
  readonly kind: "magnet";
  readonly link: MagnetLink;
  /** --peer, then the magnet's x.pe, once each: asked for the metadata, then the torrent's peers. */
  readonly askPeers: readonly PeerAddress[];
}

function magnetSource(uri: string, peers: readonly PeerAddress[]): MagnetSource {
  let link: MagnetLink;
  try {
    link = parseMagnet(uri);
  } catch (err) {
    if (err instanceof MagnetError) throw usageError(`magnet link: ${err.message}`);
    throw err;
  }
  const askPeers = [...new Map([...peers, ...link.peers].map((p) => [`${p.host}:${p.port}`, p])).values()];
  if (askPeers.length === 0) {
    // Shortcut, named: the metadata is asked of peers we are given; trackers (and DHT) are
    // asked only once the torrent runs, so a magnet alone cannot start.
    throw usageError("a magnet link needs a peer to ask for its metadata (BEP 9): give --peer HOST:PORT or an x.pe in the link");
  }
  return { kind: "magnet", link, askPeers };
}

async function metadataOf(node: SwarmNode, source: MagnetSource, deadline: number, timeoutSec: number | undefined): Promise<Metainfo> {
  const link = source.link;
  const outcome = await node.fetchMetadata(link.infoHash, source.askPeers, deadline - Date.now());
  switch (outcome.kind) {
    case "fetched":
      try {
        return metainfoFromInfo(outcome.infoBytes, link.trackers, link.webSeeds);
      } catch (err) {
        // It is the torrent's own info dictionary (its SHA-1 is the info-hash), refused like a bad .torrent file.
        if (err instanceof MetainfoError || err instanceof BencodeError) throw usageError(`the torrent of ${link.infoHashHex}, as its peers gave it: ${err.message}`);
        throw err;
      }
    case "timedOut": {
      const a = outcome.asking;
      const asking = a === undefined ? [] : [`${a.peer}: ${a.of === undefined ? "no metadata offer yet" : `${a.have} of ${a.of} metadata pieces so far`}`];
      const why = [...outcome.failures.map((f) => `${f.peer}: ${f.why} (${f.detail})`), ...asking].join("; ");
      throw jobFailed(`timed out after ${timeoutSec} s without the metadata of ${link.infoHashHex}${why === "" ? "" : `: ${why}`}`);
    }
    default: {
      const unreachable: never = outcome;
      throw new Error(`get: metadata outcome ${JSON.stringify(unreachable)}`);
    }
  }
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
