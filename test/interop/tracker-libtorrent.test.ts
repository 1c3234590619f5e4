/**
 * Interop: python3-libtorrent finds a swarmsup seed through swarmsup's tracker (HTTP, then
 * UDP) and downloads from it. libtorrent has no other source of peers (DHT, LSD, PEX off,
 * none added by hand), so completing proves that its announce was understood and that the
 * peer list it got back was right.
 *
 * The seed announces itself through its own announcer (the torrent's announce URL is the
 * tracker, over the transport under test); the test waits until the tracker lists it.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Reason, Runtime, type Pid } from "../../src/runtime/index.js";
import { createInlineHasher } from "../../src/storage/hashPool.js";
import { createTorrent } from "../../src/storage/create.js";
import { SwarmNode } from "../../src/node.js";
import { startTrackerServer, trackerAddress, trackerStats } from "../../actors/trackerServer.js";
import { describeInterop, libtorrentMissing, PYTHON } from "../helpers/interop.js";
import { bdict, httpRequest, scrapePath } from "../tracker/serverClient.js";
import type { BencodeDict } from "../../src/protocol/bencode.js";

const LEECH_SCRIPT = fileURLToPath(new URL("../fixtures/lt_tracker_leech.py", import.meta.url));
const PAYLOAD_BYTES = 3 * 1024 * 1024 + 12_345;

interface LeechReport {
  readonly finished: boolean;
  readonly trackerReplies: number[];
  readonly trackerErrors: string[];
  readonly completedAcknowledged: boolean;
  readonly peersConnected: string[];
  readonly totalPayloadDownload: number;
}

function runLeecher(torrentFile: string, saveDir: string, timeoutSeconds: number): Promise<LeechReport> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [LEECH_SCRIPT, torrentFile, saveDir, String(timeoutSeconds)], { timeout: (timeoutSeconds + 15) * 1000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as LeechReport);
      } catch {
        reject(new Error(`leecher gave no report (${error?.message ?? "no error"}): ${stdout} ${stderr}`));
      }
    });
  });
}

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

describeInterop("libtorrent announces to swarmsup's tracker and downloads from a swarmsup seed", libtorrentMissing, () => {
  let dir: string;
  let payload: Buffer;
  let rt: Runtime;
  let tracker: Pid;
  let trackerPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "swarmsup-tracker-lt-"));
    payload = randomBytes(PAYLOAD_BYTES);
    await writeFile(join(dir, "payload.bin"), payload);
    rt = new Runtime({ label: "tracker" });
    tracker = await startTrackerServer({ host: "127.0.0.1", port: 0, runtime: rt });
    trackerPort = (await trackerAddress(rt, tracker)).port;
  });

  afterAll(async () => {
    if (rt !== undefined && rt.isAlive(tracker)) await rt.stop(tracker, Reason.shutdown());
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const transport of ["http", "udp"] as const) {
    it(`over ${transport}: libtorrent gets the seed from the tracker and completes; sha256 matches`, async () => {
      const announce = transport === "http" ? `http://127.0.0.1:${trackerPort}/announce` : `udp://127.0.0.1:${trackerPort}`;
      // A distinct torrent per transport (its name differs), so the two runs share no swarm.
      const { torrent, metainfo } = await createTorrent({ path: join(dir, "payload.bin"), name: `payload-${transport}.bin`, hasher: createInlineHasher(), pieceLength: 256 * 1024, announce: [announce] });
      const torrentFile = join(dir, `${transport}.torrent`);
      await writeFile(torrentFile, torrent);
      const saveDir = join(dir, `leech-${transport}`);
      await mkdir(saveDir);

      const node = await SwarmNode.start({ host: "127.0.0.1", port: 0, label: `seed-${transport}` });
      try {
        await node.addTorrent({ meta: metainfo, location: { kind: "dataPath", path: join(dir, "payload.bin") } });
        const checked = await node.await(metainfo.infoHashHex, "checked", 20_000);
        expect(checked.have).toBe(metainfo.pieceCount);

        // The seed's announcer tells the tracker (bounded wait, polling the tracker's table).
        for (let i = 0; ; i++) {
          if ((await trackerStats(rt, tracker)).seeders >= 1) break;
          if (i >= 400) throw new Error("the seed never reached the tracker");
          await new Promise((r) => setTimeout(r, 25));
        }

        const report = await runLeecher(torrentFile, saveDir, 60);
        expect(report.trackerErrors, JSON.stringify(report)).toEqual([]);
        expect(report.finished, JSON.stringify(report)).toBe(true);
        expect(report.trackerReplies[0]).toBeGreaterThanOrEqual(1); // the seed, from the tracker
        expect(report.peersConnected).toContain(`127.0.0.1:${node.port}`);
        expect(report.totalPayloadDownload).toBeGreaterThanOrEqual(PAYLOAD_BYTES);
        expect(sha256(await readFile(join(saveDir, `payload-${transport}.bin`)))).toBe(sha256(payload));

        // libtorrent's completed announce reached the tracker: one snatch, no leecher left
        // (libtorrent may already have said `stopped` on its way out: one or two seeds).
        expect(report.completedAcknowledged).toBe(true);
        const scrape = bdict((await httpRequest(trackerPort, scrapePath([metainfo.infoHash]))).body);
        const entry = (scrape.get("files") as BencodeDict).get(metainfo.infoHash.toString("latin1")) as BencodeDict;
        expect(entry.get("downloaded")).toBe(1);
        expect(entry.get("incomplete")).toBe(0);
        expect([1, 2]).toContain(entry.get("complete"));
        const stats = await trackerStats(rt, tracker);
        expect(stats[transport].announced).toBeGreaterThanOrEqual(transport === "http" ? 3 : 2);
      } finally {
        await node.stop();
      }
    }, 90_000);
  }
});
