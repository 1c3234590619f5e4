import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildTorrent, parseMetainfo } from "../../src/protocol/metainfo.js";
import { PYTHON, describeInterop, libtorrentMissing } from "../helpers/interop.js";

interface LtReport {
  torrent: string;
  infoHash: string;
  pieceLength: number;
  numPieces: number;
  pieceHashes: string;
  totalSize: number;
  name: string;
  files: [string[], number, number, boolean][];
  trackers: [string, number][];
  urlSeeds: string[];
  private: boolean;
}

const script = fileURLToPath(new URL("../fixtures/lt_metainfo.py", import.meta.url));

describeInterop("parseMetainfo reads libtorrent's torrents as libtorrent does", libtorrentMissing, () => {
  let work = "";
  let reports: Record<string, LtReport> = {};

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "swarmsup-lt-metainfo-"));
    const run = spawnSync(PYTHON, [script, work], { encoding: "utf8", timeout: 20_000 });
    if (run.status !== 0) throw new Error(`lt_metainfo.py failed: ${run.stderr}`);
    reports = JSON.parse(run.stdout) as Record<string, LtReport>;
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const name of ["single-v1", "single-hybrid", "multi-v1", "multi-hybrid"]) {
    it(name, () => {
      const lt = reports[name];
      if (lt === undefined) throw new Error(`no report for ${name}`);
      const m = parseMetainfo(readFileSync(lt.torrent));
      expect(m.infoHashHex).toBe(lt.infoHash);
      expect(m.hybrid).toBe(name.endsWith("hybrid"));
      expect(m.layout).toBe(name.startsWith("single") ? "single" : "multi");
      expect(m.name).toBe(lt.name);
      expect(m.pieceLength).toBe(lt.pieceLength);
      expect(m.pieceCount).toBe(lt.numPieces);
      expect(m.pieceHashes.toString("hex")).toBe(lt.pieceHashes);
      expect(m.length).toBe(lt.totalSize);
      expect(m.files.map((f) => [f.path, f.length, f.offset, f.pad])).toEqual(lt.files);
      expect(m.private).toBe(lt.private);
      expect(m.urlList).toEqual(lt.urlSeeds);
      // libtorrent may reorder trackers within a tier; the tiers themselves must agree.
      const ltTiers = new Map<number, string[]>();
      for (const [url, tier] of lt.trackers) ltTiers.set(tier, [...(ltTiers.get(tier) ?? []), url]);
      expect(m.announceList.map((tier) => [...tier].sort())).toEqual([...ltTiers.values()].map((tier) => tier.sort()));
    });
  }

  it("a torrent we build loads in libtorrent with our info-hash, files and trackers", () => {
    const { torrent, metainfo } = buildTorrent({
      name: "pkg",
      files: [
        { path: ["a.bin"], length: 70_000 },
        { path: ["sub", "é.txt"], length: 5 },
      ],
      pieceLength: 32_768,
      pieceHashes: Buffer.alloc(3 * 20, 7),
      announce: [["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969"], ["http://backup.example/a"]],
      webSeeds: ["http://127.0.0.1:8080/"],
      private: true,
    });
    const file = join(work, "ours.torrent");
    const code = [
      "import sys, json, libtorrent as lt",
      "ti = lt.torrent_info(sys.argv[1]); fs = ti.files()",
      "print(json.dumps({'infoHash': str(ti.info_hashes().v1), 'priv': ti.priv(), 'pieces': ti.num_pieces(),",
      "  'files': [[fs.file_path(i), fs.file_size(i)] for i in range(fs.num_files())],",
      "  'trackers': [[t.url, t.tier] for t in ti.trackers()], 'seeds': [w['url'] for w in ti.web_seeds()]}))",
    ].join("\n");
    writeFileSync(file, torrent);
    const run = spawnSync(PYTHON, ["-c", code, file], { encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    const lt = JSON.parse(run.stdout) as { infoHash: string; priv: boolean; pieces: number; files: [string, number][]; trackers: [string, number][]; seeds: string[] };
    expect(lt.infoHash).toBe(metainfo.infoHashHex);
    expect(lt.priv).toBe(true);
    expect(lt.pieces).toBe(3);
    expect(lt.files).toEqual([["pkg/a.bin", 70_000], ["pkg/sub/é.txt", 5]]);
    expect(lt.trackers.map(([url, tier]) => `${tier} ${url}`).sort()).toEqual(
      ["0 http://127.0.0.1:6969/announce", "0 udp://127.0.0.1:6969", "1 http://backup.example/a"],
    );
    expect(lt.seeds).toEqual(["http://127.0.0.1:8080/"]);
  });
});
