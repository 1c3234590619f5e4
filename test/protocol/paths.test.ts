import fc from "fast-check";
import { relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { checkComponent, checkComponentBytes, checkPath, findPathConflict, joinInside } from "../../src/protocol/paths.js";

const rejected = (name: string): string => {
  const verdict = checkComponent(name);
  if (verdict.kind === "accepted") throw new Error(`${JSON.stringify(name)} was accepted`);
  return verdict.reason;
};

describe("checkComponent: the known attacks are refused with a reason", () => {
  const cases: [string, string, string][] = [
    ["empty", "", "empty path component"],
    ["a single dot", ".", 'path component "." is not allowed'],
    ["dot-dot", "..", 'path component ".." is not allowed'],
    ["slash (absolute or climbing when split)", "/etc", 'path component "/etc" contains a path separator'],
    ["a whole ../../etc/passwd in one component", "../../etc/passwd", 'path component "../../etc/passwd" contains a path separator'],
    ["a/../../b in one component", "a/../../b", 'path component "a/../../b" contains a path separator'],
    ["backslashes", "\\..\\", 'path component "\\\\..\\\\" contains a path separator'],
    ["Windows absolute C:\\x", "C:\\x", 'path component "C:\\\\x" contains a path separator'],
    ["drive-relative C:x", "C:x", 'path component "C:x" starts with a drive letter'],
    ["NUL", "a\u0000b", 'path component "a\\u0000b" contains the control character U+0000'],
    ["newline (forges log lines)", "a\nb", 'path component "a\\nb" contains the control character U+000a'],
    ["DEL", "a\u007f", 'path component "a\u007f" contains the control character U+007f'],
    ["C1 CSI (a terminal escape)", "a\u009b31m", 'path component "a\u009b31m" contains the control character U+009b'],
    ["256 ASCII bytes", "x".repeat(256), "path component is 256 bytes long (at most 255)"],
    ["128 two-byte chars = 256 bytes", "é".repeat(128), "path component is 256 bytes long (at most 255)"],
  ];
  for (const [what, name, reason] of cases) {
    it(what, () => expect(rejected(name)).toBe(reason));
  }
});

describe("checkComponent: harmless names pass unchanged", () => {
  const names = [
    "a.bin",
    ".pad",
    "...",
    ".hidden",
    "Movie: Part 2", // a colon after the first character is common and harmless
    "x".repeat(255),
    "\uFF0E\uFF0E", // fullwidth dots: no file system reads them as ".."
    "\u2024\u2024", // one-dot leaders
    "a\u2215b", // division slash, not a separator
    "\u202Egpj.exe", // right-to-left override: misleads a reader, escapes nothing
    "日本語",
    "\u{1F600}",
  ];
  for (const name of names) {
    it(JSON.stringify(name), () => expect(checkComponent(name)).toEqual({ kind: "accepted", name }));
  }
});

describe("checkComponentBytes", () => {
  it("replaces invalid UTF-8 by U+FFFD (a sanitized name, caught later if it collides)", () => {
    expect(checkComponentBytes(Buffer.from([0x61, 0xff, 0x62]))).toEqual({ kind: "accepted", name: "a\uFFFDb" });
  });
  it("keeps a leading byte-order mark instead of silently dropping it", () => {
    expect(checkComponentBytes(Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toEqual({ kind: "accepted", name: "\uFEFFa" });
  });
  it("never turns non-ASCII bytes into a dot or a separator", () => {
    expect(checkComponentBytes(Buffer.from([0xc0, 0xae, 0xc0, 0xae]))).toEqual({ kind: "accepted", name: "\uFFFD".repeat(4) });
    expect(checkComponentBytes(Buffer.from([0xc0, 0xaf]))).toEqual({ kind: "accepted", name: "\uFFFD\uFFFD" });
  });
});

describe("checkPath", () => {
  it("names the offending component", () => {
    expect(checkPath(["..", "..", "etc", "passwd"])).toEqual({ kind: "rejected", index: 0, reason: 'path component ".." is not allowed' });
    expect(checkPath(["a", "..", "..", "b"])).toEqual({ kind: "rejected", index: 1, reason: 'path component ".." is not allowed' });
    expect(checkPath(["a", "", "b"])).toEqual({ kind: "rejected", index: 1, reason: "empty path component" });
  });
  it("refuses an empty path and one longer than PATH_MAX", () => {
    expect(checkPath([])).toEqual({ kind: "rejected", index: -1, reason: "path has no components" });
    expect(checkPath(Array.from({ length: 17 }, () => "x".repeat(241)))).toEqual({
      kind: "rejected",
      index: -1,
      reason: "path is 4113 bytes long (at most 4096)",
    });
    expect(checkPath(Array.from({ length: 16 }, () => "x".repeat(240))).kind).toBe("accepted");
  });
});

describe("findPathConflict", () => {
  it("finds a duplicate", () => {
    expect(findPathConflict([["a"], ["b", "c"], ["b", "c"]])).toEqual({ kind: "duplicate", index: 2, first: 1, path: "b/c" });
  });
  it("finds a file that another entry needs as a directory, in either order", () => {
    expect(findPathConflict([["a"], ["a", "b"]])).toEqual({ kind: "fileIsDirectory", index: 1, other: 0, path: "a" });
    expect(findPathConflict([["a", "b", "c"], ["a", "b"]])).toEqual({ kind: "fileIsDirectory", index: 1, other: 0, path: "a/b" });
  });
  it("accepts siblings and shared directories", () => {
    expect(findPathConflict([["a", "x"], ["a", "y"], ["b"], ["a", "z", "w"]])).toBeUndefined();
  });
  it("stays linear on deep paths (a 2000-deep path, 2000 times)", () => {
    const deep = Array.from({ length: 2000 }, (_, i) => `d${i}`);
    const paths = Array.from({ length: 2000 }, (_, i) => [...deep, `f${i}`]);
    const started = performance.now();
    expect(findPathConflict(paths)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("joinInside", () => {
  const root = resolve("/srv/downloads");
  it("joins accepted components under the root", () => {
    expect(joinInside(root, ["pkg", "sub", "a.bin"])).toBe(`${root}${sep}pkg${sep}sub${sep}a.bin`);
  });
  it("refuses anything checkPath refuses", () => {
    expect(() => joinInside(root, ["..", "etc"])).toThrow(RangeError);
    expect(() => joinInside(root, [])).toThrow(RangeError);
  });
  it("property: any component list either throws RangeError or lands strictly inside the root", () => {
    const piece = fc.constantFrom("..", ".", "", "/", "\\", "a", "C:", "\u0000", "\uFF0E", "~", "%2e%2e", "b");
    const component = fc.array(piece, { maxLength: 4 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.array(component, { maxLength: 5 }), (components) => {
        let full: string;
        try {
          full = joinInside(root, components);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          return;
        }
        const rel = relative(root, full);
        expect(rel).not.toBe("");
        expect(rel.split(sep)).not.toContain("..");
        expect(full.startsWith(root + sep)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });
});
