import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decode, encode, utf8Key, type BencodeEncodable, type BencodeValue } from "../../src/protocol/bencode.js";
import { MetainfoError } from "../../src/protocol/errors.js";
import { parseMetainfo } from "../../src/protocol/metainfo.js";
import { checkPath, findPathConflict } from "../../src/protocol/paths.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { expectOnlyTyped, mutate, mutationArb } from "./bencode.fuzz.js";
import { hashes } from "./metainfo.fixtures.js";

const PIECE = 16_384;
const component = fc.constantFrom("a", "b", "c.bin", "dir", "é", "x y", ".pad", "日本");

const filesArb = fc.uniqueArray(fc.record({ path: fc.array(component, { minLength: 1, maxLength: 3 }), length: fc.nat(40_000) }), {
  minLength: 1,
  maxLength: 5,
  selector: (f) => f.path[0] ?? "",
});

type Dict = Map<string, BencodeEncodable>;

/** A valid torrent: single-file, multi-file, or a BEP 52 hybrid with pad files and a file tree. */
const torrentArb = fc
  .record({
    kind: fc.constantFrom("single" as const, "multi" as const, "hybrid" as const),
    files: filesArb,
    announce: fc.array(fc.array(fc.constantFrom("http://a/", "udp://b:1", "http://c/x"), { minLength: 1, maxLength: 2 }), { maxLength: 2 }),
    private: fc.boolean(),
    extra: fc.option(fc.constantFrom("x-custom", "similar to"), { nil: undefined }),
  })
  .map(({ kind, files, announce, private: priv, extra }): Buffer => {
    const info: Dict = new Map<string, BencodeEncodable>([["name", "root"], ["piece length", PIECE]]);
    let total: number;
    if (kind === "single") {
      total = Math.max(1, files[0]?.length ?? 1);
      info.set("length", total);
    } else if (kind === "multi") {
      info.set("files", files.map((f) => new Map<string, BencodeEncodable>([["length", f.length], ["path", f.path]])));
      total = files.reduce((sum, f) => sum + f.length, 0);
    } else {
      // Tree order is raw-byte order of the (distinct) first components; v1 must follow it.
      const sorted = [...files].sort((x, y) => Buffer.compare(Buffer.from(x.path[0] ?? ""), Buffer.from(y.path[0] ?? "")));
      const v1: Dict[] = [];
      const tree: Dict = new Map();
      total = 0;
      for (const f of sorted) {
        v1.push(new Map<string, BencodeEncodable>([["length", f.length], ["path", f.path]]));
        total += f.length;
        const pad = (PIECE - (total % PIECE)) % PIECE;
        if (pad > 0) {
          v1.push(new Map<string, BencodeEncodable>([["attr", "p"], ["length", pad], ["path", [".pad", String(pad)]]]));
          total += pad;
        }
        let node = tree;
        for (const c of f.path.slice(0, -1)) {
          const next = (node.get(utf8Key(c)) as Dict | undefined) ?? new Map();
          node.set(utf8Key(c), next);
          node = next;
        }
        node.set(utf8Key(f.path[f.path.length - 1] ?? ""), new Map([["", new Map<string, BencodeEncodable>([["length", f.length], ["pieces root", Buffer.alloc(32)]])]]));
      }
      info.set("files", v1).set("file tree", tree).set("meta version", 2);
    }
    if (total === 0) {
      info.set("files", [new Map<string, BencodeEncodable>([["length", 1], ["path", ["one"]]])]).delete("file tree");
      info.delete("meta version");
      total = 1;
    }
    info.set("pieces", hashes(Math.ceil(total / PIECE)));
    if (priv) info.set("private", 1);
    if (extra !== undefined) info.set(extra, "kept in the hash");
    const root: Dict = new Map<string, BencodeEncodable>([["info", info]]);
    if (announce.length > 0) root.set("announce", announce[0]?.[0] ?? "").set("announce-list", announce);
    return encode(root);
  });

/** What every successful parse must satisfy, whatever the input was. */
function expectConsistent(m: Metainfo, input: Buffer): void {
  expect(m.infoHashHex).toBe(createHash("sha1").update(m.infoBytes).digest("hex"));
  expect(input.includes(m.infoBytes)).toBe(true);
  expect(m.pieceHashes.length).toBe(m.pieceCount * 20);
  expect(m.pieceCount).toBe(Math.ceil(m.length / m.pieceLength));
  let offset = 0;
  for (const f of m.files) {
    expect(f.offset).toBe(offset);
    offset += f.length;
    expect(checkPath(f.path).kind).toBe("accepted");
    expect(f.path[0]).toBe(m.name);
  }
  expect(offset).toBe(m.length);
  expect(findPathConflict(m.files.filter((f) => !f.pad).map((f) => f.path))).toBeUndefined();
}

const anyValue = fc.oneof(
  fc.integer({ min: -2, max: 70_000 }),
  fc.constantFrom(0, 16_384, 2 ** 40),
  fc.constantFrom("", "..", ".", "/etc", "a", "p", "C:\\x", "\u0000", "x".repeat(300)),
  fc.uint8Array({ maxLength: 41 }).map((u) => Buffer.from(u)),
  fc.constant([] as BencodeEncodable[]),
  fc.constant([".."] as BencodeEncodable[]),
  fc.constant(new Map<string, BencodeEncodable>()),
);

/** Every [container, key] slot of a decoded value, so one can be replaced. */
function slots(value: BencodeValue): { parent: BencodeValue[] | Map<string, BencodeValue>; key: number | string }[] {
  const out: { parent: BencodeValue[] | Map<string, BencodeValue>; key: number | string }[] = [];
  const stack: BencodeValue[] = [value];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    if (Array.isArray(v)) v.forEach((item, i) => (out.push({ parent: v, key: i }), stack.push(item)));
    else if (v instanceof Map) for (const [k, item] of v) (out.push({ parent: v, key: k }), stack.push(item));
  }
  return out;
}

describe("parseMetainfo properties", () => {
  it("valid torrents (single, multi, hybrid with pads) parse, consistently", () => {
    fc.assert(
      fc.property(torrentArb, (torrent) => expectConsistent(parseMetainfo(torrent), torrent)),
      { numRuns: 3_000 },
    );
  });

  it("byte-mutated torrents: a consistent Metainfo or a MetainfoError, nothing else", () => {
    fc.assert(
      fc.property(torrentArb, mutationArb, (torrent, mutations) => {
        const input = mutate(torrent, mutations);
        let m: Metainfo | undefined;
        expectOnlyTyped(() => (m = parseMetainfo(input)), [MetainfoError]);
        if (m !== undefined) expectConsistent(m, input);
      }),
      { numRuns: 10_000 },
    );
  });

  it("one value replaced by another of any type: a consistent Metainfo or a MetainfoError", () => {
    fc.assert(
      fc.property(torrentArb, fc.nat(), anyValue, (torrent, pick, replacement) => {
        const tree = decode(torrent);
        const all = slots(tree);
        const slot = all[pick % all.length];
        if (slot !== undefined) {
          const fresh = decode(encode(replacement));
          if (slot.parent instanceof Map) slot.parent.set(slot.key as string, fresh);
          else slot.parent[slot.key as number] = fresh;
        }
        const input = encode(tree);
        let m: Metainfo | undefined;
        expectOnlyTyped(() => (m = parseMetainfo(input)), [MetainfoError]);
        if (m !== undefined) expectConsistent(m, input);
      }),
      { numRuns: 8_000 },
    );
  });

  it("random bytes: a MetainfoError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expectOnlyTyped(() => parseMetainfo(bytes), [MetainfoError]);
      }),
      { numRuns: 2_000 },
    );
  });
});
