import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encode, type BencodeEncodable } from "../../src/protocol/bencode.js";
import { BencodeError, MetainfoError } from "../../src/protocol/errors.js";
import { METAINFO_LIMITS, parseMetainfo } from "../../src/protocol/metainfo.js";
import { parseMetainfoWith } from "../../src/protocol/metainfoParse.js";
import { thrown } from "./bencode.fuzz.js";
import { hashes, torrentOf, type Fields } from "./metainfo.fixtures.js";

const sha1 = (b: Uint8Array): string => createHash("sha1").update(b).digest("hex");
const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

const rejection = (torrent: Uint8Array, parse: (b: Uint8Array) => unknown = parseMetainfo): string => thrown(() => parse(torrent), MetainfoError).message;

const file = (path: BencodeEncodable[], length: number, extra: Fields = {}): Map<string, BencodeEncodable> =>
  new Map<string, BencodeEncodable>([["length", length], ["path", path], ...Object.entries(extra).filter((e): e is [string, BencodeEncodable] => e[1] !== undefined)]);

describe("parseMetainfo: a single-file v1 torrent", () => {
  const bytes = torrentOf({ length: 40_000, pieces: hashes(3) }, { announce: "http://t.example/announce", comment: "hi", "created by": "me", "creation date": 1_700_000_000 });
  const m = parseMetainfo(bytes);

  it("reads every field", () => {
    expect(m.name).toBe("a.bin");
    expect(m.layout).toBe("single");
    expect(m.pieceLength).toBe(16_384);
    expect(m.pieceCount).toBe(3);
    expect(m.pieceHashes).toEqual(hashes(3));
    expect(m.length).toBe(40_000);
    expect(m.files).toEqual([{ path: ["a.bin"], length: 40_000, offset: 0, pad: false }]);
    expect(m.announce).toBe("http://t.example/announce");
    expect(m.announceList).toEqual([["http://t.example/announce"]]);
    expect(m.urlList).toEqual([]);
    expect(m.private).toBe(false);
    expect(m.hybrid).toBe(false);
    expect(m.comment).toBe("hi");
    expect(m.createdBy).toBe("me");
    expect(m.creationDate).toBe(1_700_000_000);
  });

  it("hashes the info dict's bytes", () => {
    const start = bytes.indexOf("4:infod") + 6;
    const infoBytes = bytes.subarray(start, bytes.length - 1);
    expect(m.infoBytes).toEqual(infoBytes);
    expect(m.infoHashHex).toBe(sha1(infoBytes));
    expect(m.infoHash.toString("hex")).toBe(m.infoHashHex);
  });
});

describe("parseMetainfo: the info-hash is of the original bytes, never a re-encoding", () => {
  it("an info dict with unsorted keys hashes as written", () => {
    const info = Buffer.concat([utf8("d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:"), hashes(1), utf8("e")]);
    const bytes = Buffer.concat([utf8("d4:info"), info, utf8("e")]);
    const m = parseMetainfo(bytes);
    expect(m.infoHashHex).toBe(sha1(info));
    expect(m.infoHashHex).not.toBe(sha1(encode(new Map<string, BencodeEncodable>([["name", "x"], ["length", 5], ["piece length", 16_384], ["pieces", hashes(1)]]))));
    expect(() => parseMetainfoWith(bytes, { keyOrder: "sorted" })).toThrow(MetainfoError);
  });

  it("an info dict with an unknown key still hashes with it", () => {
    const m = parseMetainfo(torrentOf({ length: 5, "x-custom": "kept" }));
    expect(m.infoBytes.toString("latin1")).toContain("8:x-custom4:kept");
    expect(m.infoHashHex).toBe(sha1(m.infoBytes));
  });
});

describe("parseMetainfo: multi-file, pad files, names", () => {
  it("prefixes paths with the name and runs offsets through pad files (BEP 47)", () => {
    const m = parseMetainfo(
      torrentOf({
        length: undefined,
        name: "pkg",
        pieces: hashes(3),
        files: [file(["a.bin"], 10_000), file([".pad", "6384"], 6_384, { attr: "p" }), file(["sub", "b.bin"], 20_000, { attr: "x" }), file(["empty"], 0)],
      }),
    );
    expect(m.layout).toBe("multi");
    expect(m.length).toBe(36_384);
    expect(m.files).toEqual([
      { path: ["pkg", "a.bin"], length: 10_000, offset: 0, pad: false },
      { path: ["pkg", ".pad", "6384"], length: 6_384, offset: 10_000, pad: true },
      { path: ["pkg", "sub", "b.bin"], length: 20_000, offset: 16_384, pad: false },
      { path: ["pkg", "empty"], length: 0, offset: 36_384, pad: false },
    ]);
  });

  it("lets pad files share a path (libtorrent names them .pad/<size>)", () => {
    const m = parseMetainfo(
      torrentOf({ length: undefined, pieces: hashes(3), files: [file(["a"], 100), file([".pad", "16284"], 16_284, { attr: "p" }), file(["b"], 100), file([".pad", "16284"], 16_284, { attr: "p" }), file(["c"], 1)] }),
    );
    expect(m.files.filter((f) => f.pad)).toHaveLength(2);
  });

  it("prefers name.utf-8 and path.utf-8 when they are valid UTF-8", () => {
    const m = parseMetainfo(
      torrentOf({
        length: undefined,
        name: Buffer.from([0xe9, 0x74, 0xe9]), // latin1 "été": not UTF-8
        "name.utf-8": "été",
        files: [file([Buffer.from([0xe9])], 5, { "path.utf-8": ["é"] })],
      }),
    );
    expect(m.name).toBe("été");
    expect(m.files[0]?.path).toEqual(["été", "é"]);
  });

  it("falls back to name and path when the .utf-8 variants are not valid UTF-8", () => {
    const m = parseMetainfo(torrentOf({ name: "plain", "name.utf-8": Buffer.from([0xff]) }));
    expect(m.name).toBe("plain");
  });

  it("reads invalid UTF-8 with U+FFFD, and refuses two files that then collide", () => {
    expect(parseMetainfo(torrentOf({ name: Buffer.from([0x61, 0xff]) })).name).toBe("a\uFFFD");
    const colliding = torrentOf({ length: undefined, files: [file([Buffer.from([0xff])], 1), file([Buffer.from([0xfe])], 1)] });
    expect(rejection(colliding)).toBe('info.files[1].path: "\uFFFD" is also the path of info.files[0]');
  });

  it("reads BEP 12 tiers, BEP 19 web seeds as string or list, BEP 27 private", () => {
    const m = parseMetainfo(
      torrentOf(
        { private: 1 },
        { announce: "http://a/", "announce-list": [["http://a/", "udp://b:1"], [], [""], ["http://c/"]], "url-list": ["http://w1/", "", "http://w2/"] },
      ),
    );
    expect(m.announce).toBe("http://a/");
    expect(m.announceList).toEqual([["http://a/", "udp://b:1"], ["http://c/"]]);
    expect(m.urlList).toEqual(["http://w1/", "http://w2/"]);
    expect(m.private).toBe(true);
    expect(parseMetainfo(torrentOf({}, { "url-list": "http://w/" })).urlList).toEqual(["http://w/"]);
    expect(parseMetainfo(torrentOf({}, { "url-list": "" })).urlList).toEqual([]);
    expect(parseMetainfo(torrentOf({ private: 0 })).private).toBe(false);
    expect(parseMetainfo(torrentOf({})).announceList).toEqual([]);
  });

  it("ignores malformed informational fields, as libtorrent does", () => {
    const m = parseMetainfo(torrentOf({}, { comment: 5, "created by": ["x"], "creation date": "yesterday" }));
    expect([m.comment, m.createdBy, m.creationDate]).toEqual([undefined, undefined, undefined]);
  });

  it("accepts a v1 piece length that is not a power of two (libtorrent does)", () => {
    const m = parseMetainfo(torrentOf({ "piece length": 1_000_000, length: 2_500_000, pieces: hashes(3) }));
    expect(m.pieceCount).toBe(3);
  });
});

describe("parseMetainfo: rejections name the field and the reason", () => {
  const big = 2 ** 29;
  const cases: [string, Buffer, string][] = [
    ["root not a dict", encode([]), "torrent: must be a dictionary, got a list of 0 items"],
    ["no info", encode(new Map([["announce", "x"]])), "info: must be a dictionary, got nothing (missing)"],
    ["piece length 0", torrentOf({ "piece length": 0 }), "info.piece length: must be between 1 and 536870912, got 0"],
    ["piece length 2^30", torrentOf({ "piece length": 2 * big }), `info.piece length: must be between 1 and ${big}, got ${2 * big}`],
    ["piece length negative", torrentOf({ "piece length": -16_384 }), `info.piece length: must be between 1 and ${big}, got -16384`],
    ["piece length a string", torrentOf({ "piece length": "16384" }), "info.piece length: must be an integer, got a byte string of 5 bytes"],
    ["pieces missing", torrentOf({ pieces: undefined }), "info.pieces: must be a byte string, got nothing (missing)"],
    ["pieces not a multiple of 20", torrentOf({ pieces: Buffer.alloc(21) }), "info.pieces: length 21 is not a multiple of 20"],
    ["too few hashes", torrentOf({ length: 16_385 }), "info.pieces: holds 1 hashes, but 16385 bytes in pieces of 16384 need 2"],
    ["too many hashes", torrentOf({ pieces: hashes(2) }), "info.pieces: holds 2 hashes, but 100 bytes in pieces of 16384 need 1"],
    ["both length and files", torrentOf({ files: [file(["a"], 1)] }), "info: has both 'length' (single file) and 'files' (multi-file)"],
    ["neither length nor files", torrentOf({ length: undefined }), "info: needs 'length' (single file) or 'files' (multi-file)"],
    ["empty files list", torrentOf({ length: undefined, files: [] }), "info.files: is empty"],
    ["files entry not a dict", torrentOf({ length: undefined, files: ["a"] }), "info.files[0]: must be a dictionary, got a byte string of 1 bytes"],
    ["negative file length", torrentOf({ length: undefined, files: [file(["a"], -1)] }), `info.files[0].length: must be between 0 and ${2 ** 50}, got -1`],
    ["nothing to share", torrentOf({ length: 0, pieces: hashes(0) }), "info: total length is 0: there is nothing to share"],
    ["name missing", torrentOf({ name: undefined }), "info.name: must be a byte string, got nothing (missing)"],
    ["name ..", torrentOf({ name: ".." }), 'info.name: path component ".." is not allowed'],
    ["name .", torrentOf({ name: "." }), 'info.name: path component "." is not allowed'],
    ["name empty", torrentOf({ name: "" }), "info.name: empty path component"],
    ["name absolute", torrentOf({ name: "/etc" }), 'info.name: path component "/etc" contains a path separator'],
    ["name with NUL", torrentOf({ name: "a\u0000" }), 'info.name: path component "a\\u0000" contains the control character U+0000'],
    ["name.utf-8 ..", torrentOf({ "name.utf-8": ".." }), 'info.name.utf-8: path component ".." is not allowed'],
    ["../../etc/passwd", torrentOf({ length: undefined, files: [file(["..", "..", "etc", "passwd"], 1)] }), 'info.files[0].path[0]: path component ".." is not allowed'],
    ["/etc/passwd", torrentOf({ length: undefined, files: [file(["/etc", "passwd"], 1)] }), 'info.files[0].path[0]: path component "/etc" contains a path separator'],
    ["a/../../b", torrentOf({ length: undefined, files: [file(["a", "..", "..", "b"], 1)] }), 'info.files[0].path[1]: path component ".." is not allowed'],
    ["a lone .", torrentOf({ length: undefined, files: [file(["a", "."], 1)] }), 'info.files[0].path[1]: path component "." is not allowed'],
    ["C:\\x", torrentOf({ length: undefined, files: [file(["C:\\x"], 1)] }), 'info.files[0].path[0]: path component "C:\\\\x" contains a path separator'],
    ["\\..\\", torrentOf({ length: undefined, files: [file(["\\..\\"], 1)] }), 'info.files[0].path[0]: path component "\\\\..\\\\" contains a path separator'],
    ["empty path", torrentOf({ length: undefined, files: [file([], 1)] }), "info.files[0].path: path has no components"],
    ["empty component", torrentOf({ length: undefined, files: [file(["a", ""], 1)] }), "info.files[0].path[1]: empty path component"],
    ["path.utf-8 ..", torrentOf({ length: undefined, files: [file(["ok"], 1, { "path.utf-8": [".."] })] }), 'info.files[0].path.utf-8[0]: path component ".." is not allowed'],
    ["path component not a string", torrentOf({ length: undefined, files: [file(["a", 5], 1)] }), "info.files[0].path[1]: must be a byte string, got the integer 5"],
    ["duplicate paths", torrentOf({ length: undefined, files: [file(["a", "b"], 1), file(["a", "b"], 1)] }), 'info.files[1].path: "a/b" is also the path of info.files[0]'],
    ["file is a directory", torrentOf({ length: undefined, files: [file(["a"], 1), file(["a", "b"], 1)] }), 'info.files[1].path: "a" is both a file and a directory (see info.files[0])'],
    ["private not an integer", torrentOf({ private: "yes" }), "info.private: must be an integer, got a byte string of 3 bytes"],
    ["announce not a string", torrentOf({}, { announce: 5 }), "announce: must be a byte string, got the integer 5"],
    ["announce-list flat", torrentOf({}, { "announce-list": ["http://a/"] }), "announce-list[0]: must be a list, got a byte string of 9 bytes"],
    ["url-list of integers", torrentOf({}, { "url-list": [1] }), "url-list[0]: must be a byte string, got the integer 1"],
    ["unknown meta version", torrentOf({ "meta version": 3 }), "info.meta version: is 3; only 2 (BEP 52) is known"],
    ["v2-only", torrentOf({ "meta version": 2, pieces: undefined }), "info.pieces: is missing: v2-only torrents are not supported (hybrid v1+v2 ones are)"],
    ["hybrid piece length not a power of two", torrentOf({ "meta version": 2, "piece length": 49_152 }), "info.piece length: must be a power of two of at least 16384 in a hybrid torrent, got 49152"],
    ["hybrid without file tree", torrentOf({ "meta version": 2 }), "info.file tree: must be a dictionary in a hybrid (meta version 2) torrent"],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => expect(rejection(bytes)).toBe(message));
  }

  it("invalid bencode is a MetainfoError on 'torrent' carrying the BencodeError", () => {
    const e = thrown(() => parseMetainfo(utf8("d4:infod4:name")), MetainfoError);
    expect(e.message).toBe("torrent: is not valid bencode: unexpected end of input, expected a value at byte 14");
    expect(e.field).toBe("torrent");
    expect(e.cause).toBeInstanceOf(BencodeError);
    expect((e.cause as BencodeError).offset).toBe(14);
    expect(rejection(utf8("d4:infodee junk"))).toBe("torrent: is not valid bencode: trailing bytes after the value (5) at byte 10");
    expect(rejection(utf8("d4:infod1:ai1e1:ai1eee"))).toBe('torrent: is not valid bencode: duplicate dict key "a" at byte 14');
  });
});

describe("parseMetainfo: BEP 52 hybrids", () => {
  const leaf = (length: number): Map<string, BencodeEncodable> => new Map([["", new Map<string, BencodeEncodable>([["length", length], ["pieces root", Buffer.alloc(32)]])]]);
  const tree = (entries: [string, BencodeEncodable][]): Map<string, BencodeEncodable> => new Map(entries);
  const hybridFiles = [file(["a"], 100), file([".pad", "16284"], 16_284, { attr: "p" }), file(["d", "b"], 5)];
  const hybrid = (fileTree: BencodeEncodable): Buffer =>
    torrentOf({ length: undefined, "meta version": 2, pieces: hashes(2), files: hybridFiles, "file tree": fileTree }, { "piece layers": new Map() });

  it("runs a hybrid as v1 when its file tree matches the v1 list", () => {
    const m = parseMetainfo(hybrid(tree([["a", leaf(100)], ["d", tree([["b", leaf(5)]])]])));
    expect(m.hybrid).toBe(true);
    expect(m.files.map((f) => f.path.join("/"))).toEqual(["a.bin/a", "a.bin/.pad/16284", "a.bin/d/b"]);
  });

  it("refuses a hybrid whose v2 tree describes other files than its v1 list", () => {
    expect(rejection(hybrid(tree([["a", leaf(100)], ["d", tree([["b", leaf(6)]])]])))).toBe(
      'info.file tree: file 1 is "d/b" (6 bytes), the v1 list says "d/b" (5 bytes)',
    );
    expect(rejection(hybrid(tree([["a", leaf(100)]])))).toBe("info.file tree: lists 1 files, the v1 'files' list 2");
    expect(rejection(hybrid(tree([["a", leaf(100)], ["d", tree([["b", leaf(5)], ["", leaf(1)]])]])))).toBe("info.file tree/d: is not a valid file tree node");
    expect(rejection(hybrid(tree([["a", 5]])))).toBe("info.file tree/a: must be a dictionary, got the integer 5");
  });
});

describe("parseMetainfo: limits", () => {
  const small = { ...METAINFO_LIMITS, maxPieces: 2, maxFiles: 2, maxTorrentBytes: 400, maxTokens: 40, maxDepth: 5 };
  const parseSmall = (b: Uint8Array): unknown => parseMetainfoWith(b, { limits: small });

  it("states the defaults", () => {
    expect(METAINFO_LIMITS).toEqual({
      maxTorrentBytes: 64 * 1024 * 1024,
      maxDepth: 100,
      maxTokens: 3_000_000,
      maxPieces: 2 ** 21,
      maxFiles: 300_000,
      maxPieceLength: 2 ** 29,
      minHybridPieceLength: 16_384,
      maxTotalLength: 2 ** 50,
    });
  });

  it("refuses each limit with its own message", () => {
    expect(rejection(Buffer.alloc(401), parseSmall)).toBe("torrent: is 401 bytes (at most 400)");
    expect(rejection(torrentOf({ length: 40_000, pieces: hashes(3) }), parseSmall)).toBe("info.pieces: holds 3 hashes (at most 2)");
    expect(rejection(torrentOf({ length: undefined, files: [file(["a"], 1), file(["b"], 1), file(["c"], 1)] }), parseSmall)).toBe(
      "info.files: holds 3 files (at most 2)",
    );
    const deep = torrentOf({ x: [[[["deep"]]]] });
    const fourthList = deep.indexOf("1:xllll") + 6; // root, info and three lists are 5 levels
    expect(rejection(deep, parseSmall)).toBe(`torrent: is not valid bencode: nesting deeper than 5 at byte ${fourthList}`);
    expect(rejection(torrentOf({ x: Array.from({ length: 40 }, () => 1) }), parseSmall)).toMatch(/^torrent: is not valid bencode: more than 40 items/);
  });

  it("refuses a total length beyond 2^50 bytes without losing precision", () => {
    const huge = 2 ** 50;
    expect(rejection(torrentOf({ length: undefined, "piece length": 2 ** 29, files: [file(["a"], huge), file(["b"], huge)] }))).toBe(
      `info.files: total length exceeds ${huge} bytes`,
    );
  });

  it("refuses 2^21 + 1 piece hashes (42 MB of input) quickly", () => {
    const started = performance.now();
    const bytes = torrentOf({ length: (2 ** 21 + 1) * 16_384, pieces: Buffer.alloc((2 ** 21 + 1) * 20) });
    expect(rejection(bytes)).toBe(`info.pieces: holds ${2 ** 21 + 1} hashes (at most ${2 ** 21})`);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
