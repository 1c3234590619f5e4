import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SwarmNode } from "../../src/node.js";
import { MiB, nodesStoppedAfterEach, removeDir, singleFileTorrent, tempDir } from "../helpers/swarm.js";

/**
 * The start-up check reads only what can be on disk: the files of a fresh download did not
 * exist before the torrent started, so none of their pieces is read; a file that was there
 * (even partly) is read.
 */
describe("start-up check of a fresh download", () => {
  const dirs: string[] = [];
  const nodes = nodesStoppedAfterEach();
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });

  it("reads no piece of files it created, and reads files that were already there", async () => {
    const src = await tempDir("fresh-src");
    const out = await tempDir("fresh-out");
    dirs.push(src, out);
    const { meta } = await singleFileTorrent(src, "data.bin", 4 * MiB, 256 * 1024);

    const fresh = await SwarmNode.start({ host: "127.0.0.1", port: 0 });
    nodes.push(fresh);
    await fresh.addTorrent({ meta, location: { kind: "downloadDir", dir: out } });
    const first = await fresh.await(meta.infoHashHex, "checked", 10_000);
    expect(first.startup).toMatchObject({ read: 0, valid: 0 });
    expect(first.have).toBe(0);
    await fresh.stop();

    // A file already on disk (here: a stale one of the right size, no resume data) is read.
    const other = await tempDir("fresh-out2");
    dirs.push(other);
    await mkdir(other, { recursive: true });
    const fh = await open(join(other, "data.bin"), "w");
    await fh.truncate(4 * MiB);
    await fh.close();
    const again = await SwarmNode.start({ host: "127.0.0.1", port: 0 });
    nodes.push(again);
    await again.addTorrent({ meta, location: { kind: "downloadDir", dir: other } });
    const second = await again.await(meta.infoHashHex, "checked", 10_000);
    expect(second.startup?.read).toBe(meta.pieceCount);
  });
});
