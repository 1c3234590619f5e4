import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../src/protocol/bencode.js";
import { MetainfoError } from "../../src/protocol/errors.js";
import { buildTorrent, parseMetainfo, type BuildTorrentOptions } from "../../src/protocol/metainfo.js";
import { thrown } from "./bencode.fuzz.js";
import { hashes } from "./metainfo.fixtures.js";

const base: BuildTorrentOptions = { name: "pkg", files: [{ path: [], length: 40_000 }], pieceLength: 16_384, pieceHashes: hashes(3) };

const messageOf = (opts: BuildTorrentOptions): string => thrown(() => buildTorrent(opts), MetainfoError).message;

describe("buildTorrent", () => {
  it("writes a single-file torrent whose Metainfo is the parse of its exact bytes", () => {
    const { torrent, metainfo } = buildTorrent({ ...base, createdBy: "swarmsup/0.1.0", creationDate: 1_700_000_000, comment: "c" });
    expect(metainfo).toEqual(parseMetainfo(torrent));
    expect(metainfo.layout).toBe("single");
    expect(metainfo.files).toEqual([{ path: ["pkg"], length: 40_000, offset: 0, pad: false }]);
    expect([metainfo.createdBy, metainfo.creationDate, metainfo.comment]).toEqual(["swarmsup/0.1.0", 1_700_000_000, "c"]);
    expect(torrent.toString("latin1")).toBe(
      `d7:comment1:c10:created by14:swarmsup/0.1.013:creation datei1700000000e4:infod6:lengthi40000e4:name3:pkg12:piece lengthi16384e6:pieces60:${hashes(3).toString("latin1")}ee`,
    );
  });

  it("keeps the multi-file order it is given, and is canonical bencode", () => {
    const files = [
      { path: ["z.bin"], length: 30_000 },
      { path: ["a", "b.bin"], length: 10_000 },
    ];
    const { torrent, metainfo } = buildTorrent({ ...base, files });
    expect(metainfo.files.map((f) => [f.path, f.offset])).toEqual([
      [["pkg", "z.bin"], 0],
      [["pkg", "a", "b.bin"], 30_000],
    ]);
    expect(encode(decode(torrent, { keyOrder: "sorted" }))).toEqual(torrent);
  });

  it("writes announce as the first tracker and announce-list only when there is more than one", () => {
    const one = buildTorrent({ ...base, announce: [["http://a/"]] });
    expect(one.torrent.includes("announce-list")).toBe(false);
    expect(one.metainfo.announce).toBe("http://a/");
    expect(one.metainfo.announceList).toEqual([["http://a/"]]);

    const many = buildTorrent({ ...base, announce: [[], ["http://a/", "", "udp://b:1"], ["http://c/"]] });
    expect(many.metainfo.announce).toBe("http://a/");
    expect(many.metainfo.announceList).toEqual([["http://a/", "udp://b:1"], ["http://c/"]]);

    const none = buildTorrent({ ...base, announce: [] });
    expect(none.metainfo.announce).toBeUndefined();
    expect(none.torrent.includes("announce")).toBe(false);
  });

  it("writes web seeds (BEP 19) and private (BEP 27), which changes the info-hash", () => {
    const plain = buildTorrent(base).metainfo;
    const { metainfo, torrent } = buildTorrent({ ...base, webSeeds: ["http://w/"], private: true });
    expect(metainfo.urlList).toEqual(["http://w/"]);
    expect(metainfo.private).toBe(true);
    expect(metainfo.infoBytes.toString("latin1")).toContain("7:privatei1e");
    expect(metainfo.infoHashHex).not.toBe(plain.infoHashHex);
    expect(torrent.includes("8:url-listl9:http://w/e")).toBe(true);
    expect(buildTorrent({ ...base, private: false }).metainfo.infoHashHex).toBe(plain.infoHashHex);
  });

  it("refuses bad options with MetainfoError, like bad input", () => {
    expect(messageOf({ ...base, files: [{ path: ["a"], length: 1 }, { path: [], length: 1 }] })).toBe(
      "files[1].path: is empty; only a single-file torrent's one entry has path []",
    );
    expect(messageOf({ ...base, name: ".." })).toBe('info.name: path component ".." is not allowed');
    expect(messageOf({ ...base, files: [{ path: ["a", "../x"], length: 1 }] })).toBe('info.files[0].path[1]: path component "../x" contains a path separator');
    expect(messageOf({ ...base, files: [{ path: [], length: 1.5 }] })).toBe("info.length: 1.5 is not a safe integer");
    expect(messageOf({ ...base, name: "\uD800" })).toBe("info.name: string holds a lone surrogate (not encodable as UTF-8)");
    expect(messageOf({ ...base, pieceHashes: hashes(2) })).toBe("info.pieces: holds 2 hashes, but 40000 bytes in pieces of 16384 need 3");
  });

  it("property: any valid file list round-trips through the bytes", () => {
    const component = fc.stringMatching(/^[a-zA-Z0-9 ._é日-]{1,12}$/).filter((c) => c !== "." && c !== "..");
    const files = fc.uniqueArray(fc.record({ path: fc.array(component, { minLength: 1, maxLength: 3 }), length: fc.nat(100_000) }), {
      minLength: 1,
      maxLength: 6,
      selector: (f) => f.path[0] ?? "", // distinct first components: no path is another's directory
    });
    fc.assert(
      fc.property(files, fc.constantFrom(16_384, 32_768, 1_000), (list, pieceLength) => {
        const total = list.reduce((sum, f) => sum + f.length, 0);
        fc.pre(total > 0);
        const count = Math.ceil(total / pieceLength);
        const { torrent, metainfo } = buildTorrent({ name: "root", files: list, pieceLength, pieceHashes: hashes(count) });
        expect(metainfo.length).toBe(total);
        expect(metainfo.pieceCount).toBe(count);
        expect(metainfo.files.map((f) => ({ path: f.path.slice(1), length: f.length }))).toEqual(list);
        expect(parseMetainfo(torrent).infoHashHex).toBe(metainfo.infoHashHex);
      }),
      { numRuns: 1_000 },
    );
  });
});
