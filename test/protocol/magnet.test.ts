import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MagnetError } from "../../src/protocol/errors.js";
import { parseHostPort } from "../../src/protocol/hostPort.js";
import { MAX_MAGNET_LENGTH, parseMagnet } from "../../src/protocol/magnet.js";
import { expectOnlyTyped, thrown } from "./bencode.fuzz.js";

const HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
const B32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"; // the same 20 bytes in base32
const m = (rest = ""): string => `magnet:?xt=urn:btih:${HEX}${rest}`;

function rejection(uri: string): { param: string; reason: string } {
  const { param, reason } = thrown(() => parseMagnet(uri), MagnetError);
  return { param, reason };
}

describe("parseMagnet: what it reads", () => {
  it("reads hex, uppercase hex and base32 (either case) info-hashes as the same 20 bytes", () => {
    for (const hash of [HEX, HEX.toUpperCase(), B32, B32.toLowerCase()]) {
      const link = parseMagnet(`magnet:?xt=urn:btih:${hash}`);
      expect(link.infoHashHex).toBe(HEX);
      expect(link.infoHash).toEqual(Buffer.from(HEX, "hex"));
    }
  });

  it("reads every parameter, %-decoding and reading + as a space", () => {
    const link = parseMagnet(
      m("&dn=a+b%20c%C3%A9&tr=udp%3A%2F%2Ft.example%3A1337&tr=http://t2/announce?x=1&ws=https://w/f&x.pe=1.2.3.4:5&x.pe=[::1]:6&x.pe=seed.example:7"),
    );
    expect(link).toEqual({
      infoHash: Buffer.from(HEX, "hex"),
      infoHashHex: HEX,
      displayName: "a b cé",
      trackers: ["udp://t.example:1337", "http://t2/announce?x=1"],
      webSeeds: ["https://w/f"],
      peers: [
        { host: "1.2.3.4", port: 5 },
        { host: "::1", port: 6 },
        { host: "seed.example", port: 7 },
      ],
    });
  });

  it("keeps repeated values once, accepts numbered forms (tr.1), ignores unknown parameters and the fragment", () => {
    const link = parseMagnet(`MAGNET:?xl=10&xt.1=urn:btih:${HEX}&xt=urn:btih:${B32}&tr.1=http://a/&tr=http://a/&&kt=x+y&x.pe=1.2.3.4:5&x.pe=1.2.3.4:5#tr=http://b/`);
    expect(link.trackers).toEqual(["http://a/"]);
    expect(link.peers).toEqual([{ host: "1.2.3.4", port: 5 }]);
    expect(link.displayName).toBeUndefined();
  });

  it("takes unescaped non-ASCII as its UTF-8, and shows a name that is not UTF-8 with U+FFFD", () => {
    expect(parseMagnet(m("&dn=été")).displayName).toBe("été");
    expect(parseMagnet(m("&dn=%E9t%E9")).displayName).toBe("\uFFFDt\uFFFD");
  });

  it("ignores other xt kinds next to a btih (e.g. a hybrid's urn:btmh)", () => {
    expect(parseMagnet(m(`&xt=urn:btmh:1220${"ab".repeat(32)}`)).infoHashHex).toBe(HEX);
  });
});

describe("parseMagnet: every rejection names the parameter", () => {
  const cases: [string, string, string, string][] = [
    ["not a magnet", `http://x/?xt=urn:btih:${HEX}`, "uri", 'must start with "magnet:?"'],
    ["no query", "magnet:", "uri", 'must start with "magnet:?"'],
    ["no xt", "magnet:?dn=x", "xt", "no urn:btih info-hash"],
    ["v2 only", `magnet:?xt=urn:btmh:1220${"ab".repeat(32)}`, "xt", "only a v2 info-hash (urn:btmh): v2-only magnets are not supported"],
    ["two different hashes", `${m()}&xt=urn:btih:${"a".repeat(40)}`, "xt", "names two different info-hashes"],
    ["39 hex", `magnet:?xt=urn:btih:${HEX.slice(1)}`, "xt", `urn:btih must be followed by 40 hex or 32 base32 characters, got "${HEX.slice(1)}"`],
    ["base32 with 1", `magnet:?xt=urn:btih:${B32.slice(1)}1`, "xt", `urn:btih must be followed by 40 hex or 32 base32 characters, got "${B32.slice(1)}1"`],
    ["xt without value", `${m()}&xt`, "xt", "has no value"],
    ["bad escape", m("&dn=%zz"), "dn", 'bad %-escape "%zz" at character 0'],
    ["cut escape", m("&dn=ab%4"), "dn", 'bad %-escape "%4" at character 2'],
    ["xt not UTF-8", "magnet:?xt=%ff", "xt", "is not valid UTF-8 once %-decoded"],
    ["tracker not a URL", m("&tr=not a url"), "tr", '"not a url" is not an absolute URL'],
    ["javascript tracker", m("&tr=javascript:alert(1)"), "tr", "scheme javascript: is not one of http: https: udp: ws: wss:"],
    ["udp web seed", m("&ws=udp://w:1"), "ws", "scheme udp: is not one of http: https:"],
    ["peer without port", m("&x.pe=1.2.3.4"), "x.pe", '"1.2.3.4" has no :port'],
    ["peer port 0", m("&x.pe=1.2.3.4:0"), "x.pe", 'port "0" is not a number from 1 to 65535'],
    ["peer port 65536", m("&x.pe=h.example:65536"), "x.pe", 'port "65536" is not a number from 1 to 65535'],
    ["peer unbracketed IPv6", m("&x.pe=::1:80"), "x.pe", '"::1:80": an IPv6 address needs brackets, [addr]:port'],
    ["peer bad IPv6", m("&x.pe=[::g]:80"), "x.pe", '"::g" is not an IPv6 address'],
    ["peer bad host", m("&x.pe=under_score:80"), "x.pe", '"under_score" is neither an IPv4 address nor a host name'],
    ["peer bad IPv4", m("&x.pe=1.2.3.999:80"), "x.pe", '"1.2.3.999" is neither an IPv4 address nor a host name'],
  ];
  for (const [what, uri, param, reason] of cases) {
    it(what, () => expect(rejection(uri)).toEqual({ param, reason }));
  }

  it("refuses an input longer than the bound before parsing it", () => {
    const long = m(`&dn=${"x".repeat(MAX_MAGNET_LENGTH)}`);
    expect(rejection(long)).toEqual({ param: "uri", reason: `is ${long.length} characters long (at most ${MAX_MAGNET_LENGTH})` });
  });
});

describe("parseHostPort", () => {
  it("tells the address family", () => {
    expect(parseHostPort("127.0.0.1:6881")).toEqual({ kind: "accepted", host: "127.0.0.1", port: 6881, family: "ipv4" });
    expect(parseHostPort("[fe80::1]:1")).toEqual({ kind: "accepted", host: "fe80::1", port: 1, family: "ipv6" });
    expect(parseHostPort("localhost:65535")).toEqual({ kind: "accepted", host: "localhost", port: 65535, family: "name" });
  });
  it("refuses labels that are too long or empty", () => {
    expect(parseHostPort(`${"a".repeat(64)}.example:1`).kind).toBe("rejected");
    expect(parseHostPort("a..b:1").kind).toBe("rejected");
    expect(parseHostPort("-a.b:1").kind).toBe("rejected");
    expect(parseHostPort(":1").kind).toBe("rejected");
  });
});

const char = fc.constantFrom(..."%&=+:[]#?.xt-_/é0aF".split(""));
const editArb = fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), op: fc.constantFrom("insert", "delete", "replace"), ch: char }), {
  minLength: 1,
  maxLength: 4,
});

const magnetParts = fc.record({
  hash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => Buffer.from(u)),
  base32: fc.boolean(),
  name: fc.option(fc.string({ unit: "binary", maxLength: 20 }), { nil: undefined }),
  trackers: fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,8}$/).map((h) => `http://${h}.example/announce`), { maxLength: 3 }),
  peers: fc.uniqueArray(fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })), { maxLength: 3, selector: ([h, p]) => `${h}:${p}` }),
});

function toBase32(bytes: Buffer): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = "";
  for (const byte of bytes) bits += byte.toString(2).padStart(8, "0");
  return (bits.match(/.{5}/g) ?? []).map((chunk) => alphabet[parseInt(chunk, 2)]).join("");
}

describe("parseMagnet properties", () => {
  it("a magnet written from parts parses back to those parts", () => {
    fc.assert(
      fc.property(magnetParts, (p) => {
        const xt = `urn:btih:${p.base32 ? toBase32(p.hash) : p.hash.toString("hex")}`;
        const params = [`xt=${xt}`];
        if (p.name !== undefined) params.push(`dn=${encodeURIComponent(p.name)}`);
        for (const t of p.trackers) params.push(`tr=${encodeURIComponent(t)}`);
        for (const [h, port] of p.peers) params.push(`x.pe=${h}:${port}`);
        const link = parseMagnet(`magnet:?${params.join("&")}`);
        expect(link.infoHash).toEqual(p.hash);
        expect(link.displayName).toBe(p.name);
        expect(link.trackers).toEqual(p.trackers);
        expect(link.peers).toEqual(p.peers.map(([host, port]) => ({ host, port })));
      }),
      { numRuns: 5_000 },
    );
  });

  it("edited magnets and random text: a MagnetLink or a MagnetError, nothing else", () => {
    fc.assert(
      fc.property(fc.constantFrom(m("&dn=a+b&tr=http://t/a&x.pe=[::1]:5&ws=http://w/"), `magnet:?xt=urn:btih:${B32}&x.pe=h.example:9`), editArb, (uri, edits) => {
        let text = uri;
        for (const e of edits) {
          const at = Math.floor(e.at * (text.length + 1));
          text = e.op === "insert" ? text.slice(0, at) + e.ch + text.slice(at) : e.op === "delete" ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + e.ch + text.slice(at + 1);
        }
        expectOnlyTyped(() => parseMagnet(text), [MagnetError]);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (tail) => {
        expectOnlyTyped(() => parseMagnet(`magnet:?${tail}`), [MagnetError]);
        expectOnlyTyped(() => parseMagnet(tail), [MagnetError]);
      }),
      { numRuns: 5_000 },
    );
  });
});
