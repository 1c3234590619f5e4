import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { parseMagnet } from "../../src/protocol/magnet.js";
import { PYTHON, describeInterop, libtorrentMissing } from "../helpers/interop.js";

const HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
const magnets = [
  `magnet:?xt=urn:btih:${HEX}&dn=a+b%20c%C3%A9&tr=udp%3A%2F%2Ft.example%3A1337&tr=http://t2/announce&x.pe=1.2.3.4:5&x.pe=[::1]:6`,
  "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=%E6%97%A5%E6%9C%AC",
  `magnet:?xt=urn:btih:${HEX.toUpperCase()}&ws=http%3A%2F%2Fw%2Ff&tr=http://a/&tr=http://b/`,
];

// libtorrent reads host names in x.pe as nothing; we keep them, so the cases use IPs only.
const script = `
import json, sys, libtorrent as lt
out = []
for uri in json.load(sys.stdin):
    p = lt.parse_magnet_uri(uri)
    out.append({"infoHash": str(p.info_hashes.v1), "name": p.name, "trackers": list(p.trackers),
                "webSeeds": list(p.url_seeds), "peers": [[h, port] for h, port in p.peers]})
print(json.dumps(out))
`;

describeInterop("parseMagnet reads magnets as libtorrent does", libtorrentMissing, () => {
  it("agrees on info-hash, name, trackers, web seeds and peers", () => {
    const run = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(magnets), encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    const lt = JSON.parse(run.stdout) as { infoHash: string; name: string; trackers: string[]; webSeeds: string[]; peers: [string, number][] }[];
    for (const [i, uri] of magnets.entries()) {
      const ours = parseMagnet(uri);
      const theirs = lt[i];
      expect(theirs).toBeDefined();
      expect(ours.infoHashHex).toBe(theirs?.infoHash);
      expect(ours.displayName ?? "").toBe(theirs?.name);
      expect(ours.trackers).toEqual(theirs?.trackers);
      expect(ours.webSeeds).toEqual(theirs?.webSeeds);
      expect(ours.peers.map((p) => [p.host, p.port])).toEqual(theirs?.peers);
    }
  });
});
