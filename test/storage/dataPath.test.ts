import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { FileEntry } from "../../src/protocol/types.js";
import { dataFilePath, PathEscapeError, payloadFilePath, resolveDataFiles } from "../../src/storage/dataPath.js";

const entry = (path: string[]): FileEntry => ({ path, length: 1, offset: 0, pad: false });

describe("dataFilePath (get -o DIR)", () => {
  it("puts every file under DIR/<its path>", () => {
    expect(dataFilePath(entry(["movie.mkv"]), "/dl")).toBe("/dl/movie.mkv");
    expect(dataFilePath(entry(["album", "cd1", "01.flac"]), "dl")).toBe(join(resolve("dl"), "album/cd1/01.flac"));
  });

  it("refuses a path that would leave DIR, even if the parser let it through", () => {
    expect(() => dataFilePath(entry(["..", "etc", "passwd"]), "/dl")).toThrow(PathEscapeError);
    expect(() => dataFilePath(entry(["a", "..", "..", "x"]), "/dl")).toThrow(PathEscapeError);
    expect(() => dataFilePath(entry(["/etc/passwd"]), "/dl")).not.toThrow(); // joined, so it stays inside
    expect(dataFilePath(entry(["/etc/passwd"]), "/dl")).toBe("/dl/etc/passwd");
    expect(() => dataFilePath(entry([]), "/dl")).toThrow(PathEscapeError);
    expect(() => dataFilePath(entry(["."]), "/dl")).toThrow(PathEscapeError);
  });
});

describe("payloadFilePath (verify/seed <path>)", () => {
  it("is the path itself for a single-file torrent, whatever its name on disk", () => {
    expect(payloadFilePath({ layout: "single" }, entry(["movie.mkv"]), "/data/renamed.mkv")).toBe("/data/renamed.mkv");
  });

  it("maps the torrent's top directory onto the path for a multi-file torrent", () => {
    expect(payloadFilePath({ layout: "multi" }, entry(["album", "cd1", "01.flac"]), "/data/my-album")).toBe(
      "/data/my-album/cd1/01.flac",
    );
    expect(() => payloadFilePath({ layout: "multi" }, entry(["album", "..", "x"]), "/data/my-album")).toThrow(PathEscapeError);
  });

  it("resolves every file of a torrent through one location", () => {
    const files = [entry(["t", "a"]), entry(["t", "b", "c"])];
    expect(resolveDataFiles({ layout: "multi", files }, { kind: "downloadDir", dir: "/dl" })).toEqual(["/dl/t/a", "/dl/t/b/c"]);
    expect(resolveDataFiles({ layout: "multi", files }, { kind: "dataPath", path: "/x/t2" })).toEqual(["/x/t2/a", "/x/t2/b/c"]);
  });
});
