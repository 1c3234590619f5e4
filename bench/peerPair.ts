/**
 * One seed peer -> one leech peer in this process over loopback, through the real actors
 * (listener, peer pools, peer actors, piece managers with inline SHA-1), the payload held in
 * memory on the seed and dropped after verification on the leecher. Prints MiB/s and the
 * CPU the process used (both ends share it, so CPU% can exceed 100 on 2 cores).
 *
 *   npm run build && node dist/bench/peerPair.js [MiB=256] [pieceKiB=1024]
 */
import { createHash, randomFillSync } from "node:crypto";
import { Runtime, startChild, type Ctx, type LogSink, type Pid } from "../src/runtime/index.js";
import { buildTorrent } from "../src/protocol/metainfo.js";
import { startPieceMgr } from "../actors/pieceMgr.js";
import { TorrentState, names } from "../actors/torrentState.js";
import { listenerAddress, startListener } from "../actors/listener.js";
import { startPeerPool } from "../supervisors/peerPool.js";
import { makePeerId } from "../src/peerId.js";
import type { Metainfo } from "../src/protocol/types.js";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const pieceLength = Number(process.argv[3] ?? 1024) * 1024;

const quiet: LogSink = { error: (obj, msg) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`), warn: () => undefined };

function torrentOf(data: Buffer): Metainfo {
  const hashes: Buffer[] = [];
  for (let o = 0; o < data.length; o += pieceLength) hashes.push(createHash("sha1").update(data.subarray(o, o + pieceLength)).digest());
  return buildTorrent({ name: "bench.bin", files: [{ path: [], length: data.length }], pieceLength, pieceHashes: Buffer.concat(hashes) }).metainfo;
}

async function node(meta: Metainfo, label: string, seed: Buffer | undefined, onComplete: () => void): Promise<{ rt: Runtime; pool: Pid; state: TorrentState }> {
  const rt = new Runtime({ label, logger: quiet });
  const state = new TorrentState(meta, [], rt.clock.now());
  if (seed !== undefined) for (let i = 0; i < meta.pieceCount; i++) state.have.set(i);
  rt.spawn(() => onComplete(), { name: names.torrentCtl(meta.infoHashHex) });
  await startPieceMgr({ state, writer: { writePiece: () => Promise.resolve() } }, rt);
  const io = {
    readBlock(_ctx: Ctx, piece: number, begin: number, length: number): Promise<Buffer> {
      const at = piece * pieceLength + begin;
      return seed === undefined ? Promise.reject(new Error("not a seed")) : Promise.resolve(seed.subarray(at, at + length));
    },
  };
  const pool = await startPeerPool(meta.infoHashHex, { state, io, peerId: makePeerId() }, { runtime: rt });
  return { rt, pool, state };
}

async function main(): Promise<void> {
  const data = randomFillSync(Buffer.allocUnsafe(sizeMiB * MiB));
  const meta = torrentOf(data);
  const seed = await node(meta, "seed", data, () => undefined);
  const listener = await startListener({ host: "127.0.0.1", port: 0, runtime: seed.rt });
  const { port } = await listenerAddress(seed.rt, listener);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const leech = await node(meta, "leech", undefined, () => finished());

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await startChild(leech.pool, [{ direction: "outgoing", host: "127.0.0.1", port }]);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(
    `${sizeMiB} MiB in ${seconds.toFixed(2)} s: ${(sizeMiB / seconds).toFixed(0)} MiB/s; ` +
      `CPU ${cpuSeconds.toFixed(2)} s (user ${(cpu.user / 1e6).toFixed(2)}, sys ${(cpu.system / 1e6).toFixed(2)}) = ${((cpuSeconds / seconds) * 100).toFixed(0)}%; ` +
      `rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB; wasted blocks ${leech.state.counters.wastedBlocks}\n`,
  );
  process.exit(0);
}

void main();
