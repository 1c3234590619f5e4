/**
 * `swarmsup seed <file.torrent> <path>`: check the data at <path> (the file of a single-file
 * torrent, the top directory of a multi-file one), then serve it until SIGINT/SIGTERM, when
 * the node stops cleanly (peers told, files closed) and the command exits 0.
 */
import type { Command } from "commander";
import { SwarmNode } from "../node.js";
import { jobFailed } from "./errors.js";
import { portArg, profileArg } from "./get.js";
import { startProgress } from "./progress.js";
import { waitForSignal } from "./signals.js";
import { loadTorrent } from "./verify.js";
import { log } from "../log.js";

export function registerSeed(program: Command): void {
  program
    .command("seed")
    .description("serve a torrent's data to peers until interrupted")
    .argument("<torrent>", "the .torrent file")
    .argument("<path>", "the data: the file of a single-file torrent, the top directory of a multi-file one")
    .option("--port <port>", "port to listen on", "6881")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--profile <profile>", "choking and timeouts: default | datacenter (no tit-for-tat, 64 slots, 5 s snub, 3 s re-announce)", "default")
    .action(async (torrent: string, dataPath: string, options: Record<string, unknown>) => {
      const profile = profileArg(String(options.profile));
      const meta = await loadTorrent(torrent);
      const node = await SwarmNode.start({ host: String(options.host), port: portArg(String(options.port)), profile });
      const signal = waitForSignal();
      const progress = startProgress({ label: "checking", json: false });
      try {
        await node.addTorrent({ meta, location: { kind: "dataPath", path: dataPath } });
        const checking = setInterval(() => {
          node.stats(meta.infoHashHex).then((s) => progress.update(s.checkedBytes, meta.length), () => undefined);
        }, 250);
        const stats = await Promise.race([node.await(meta.infoHashHex, "checked", Infinity), signal.then(() => undefined)]);
        clearInterval(checking);
        progress.stop();
        if (stats === undefined) return;
        if (stats.have !== stats.pieces) throw jobFailed(`the data at ${dataPath} holds ${stats.have} of ${stats.pieces} pieces`);
        log.info({ infoHash: meta.infoHashHex, host: node.host, port: node.port }, "seeding");
        process.stdout.write(`seeding ${meta.name} (${meta.infoHashHex}) on ${node.host}:${node.port}\n`);
        await signal;
      } finally {
        progress.stop();
        await node.stop();
      }
    });
}
