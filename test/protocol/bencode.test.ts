import { describe, expect, it } from "vitest";
import { decode, decodeDocument, decodePrefix, encode, type BencodeValue } from "../../src/protocol/bencode.js";
import { BencodeEncodeError, BencodeError } from "../../src/protocol/errors.js";
import { thrown } from "./bencode.fuzz.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

function rejection(input: string | Uint8Array, options?: Parameters<typeof decode>[1]): { offset: number; reason: string } {
  const { offset, reason } = thrown(() => decode(typeof input === "string" ? b(input) : input, options), BencodeError);
  return { offset, reason };
}

describe("decode: accepted values", () => {
  it("reads integers, byte strings, lists and dicts", () => {
    expect(decode(b("i42e"))).toBe(42);
    expect(decode(b("i-7e"))).toBe(-7);
    expect(decode(b("i0e"))).toBe(0);
    expect(decode(b("4:spam"))).toEqual(b("spam"));
    expect(decode(b("0:"))).toEqual(Buffer.alloc(0));
    expect(decode(b("l4:spami3ee"))).toEqual([b("spam"), 3]);
    expect(decode(b("d3:cow3:moo4:spaml1:a1:bee"))).toEqual(
      new Map<string, BencodeValue>([
        ["cow", b("moo")],
        ["spam", [b("a"), b("b")]],
      ]),
    );
  });

  it("reads the largest safe integers", () => {
    expect(decode(b("i9007199254740991e"))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode(b("i-9007199254740991e"))).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it("keeps non-UTF-8 keys and strings byte for byte", () => {
    const value = decode(Buffer.concat([b("d2:"), Buffer.from([0xff, 0x00]), b("2:"), Buffer.from([0xc3, 0x28]), b("e")]));
    expect(value).toBeInstanceOf(Map);
    const [[key, item]] = [...(value as Map<string, BencodeValue>)] as [[string, BencodeValue]];
    expect(Buffer.from(key, "latin1")).toEqual(Buffer.from([0xff, 0x00]));
    expect(item).toEqual(Buffer.from([0xc3, 0x28]));
  });

  it("copies strings out of the input, so reusing the input buffer changes nothing", () => {
    const input = b("4:spam");
    const value = decode(input);
    input.fill(0x41);
    expect(value).toEqual(b("spam"));
  });

  it("accepts unsorted keys by default (as libtorrent does) and rejects them when asked", () => {
    expect(decode(b("d1:bi1e1:ai2ee"))).toEqual(new Map([["b", 1], ["a", 2]]));
    expect(rejection("d1:bi1e1:ai2ee", { keyOrder: "sorted" })).toEqual({
      offset: 7,
      reason: 'dict key "a" is not in sorted order (after "b")',
    });
    expect(decode(b("d1:ai2e1:bi1ee"), { keyOrder: "sorted" })).toEqual(new Map([["a", 2], ["b", 1]]));
  });

  it("compares keys as raw bytes in sorted mode (0x7f < 0x80 < 0xff)", () => {
    const sorted = Buffer.concat([b("d1:"), Buffer.from([0x7f]), b("i1e1:"), Buffer.from([0x80]), b("i2e1:"), Buffer.from([0xff]), b("i3ee")]);
    expect((decode(sorted, { keyOrder: "sorted" }) as Map<string, BencodeValue>).size).toBe(3);
    const unsorted = Buffer.concat([b("d1:"), Buffer.from([0xff]), b("i1e1:"), Buffer.from([0x80]), b("i2ee")]);
    expect(() => decode(unsorted, { keyOrder: "sorted" })).toThrow(BencodeError);
  });
});

describe("decode: every rejection says where and what", () => {
  const cases: [string, string, number, string][] = [
    ["empty input", "", 0, "unexpected end of input, expected a value"],
    ["trailing bytes", "i1ejunk", 3, "trailing bytes after the value (4)"],
    ["two values", "i1ei2e", 3, "trailing bytes after the value (3)"],
    ["leading zero", "i01e", 0, "integer has a leading zero"],
    ["negative leading zero", "i-01e", 0, "integer has a leading zero"],
    ["negative zero", "i-0e", 0, "negative zero is not a valid integer"],
    ["empty integer", "ie", 0, "integer has no digits"],
    ["minus only", "i-e", 0, "integer has no digits"],
    ["plus sign", "i+1e", 1, "expected an integer digit, found '+' (0x2b)"],
    ["float", "i1.5e", 2, "expected an integer digit, found '.' (0x2e)"],
    ["space in integer", "i 1e", 1, "expected an integer digit, found ' ' (0x20)"],
    ["unterminated integer", "i12", 3, "unexpected end of input, expected an integer digit"],
    ["integer beyond 2^53-1", "i9007199254740992e", 1, "integer 9007199254740992 is beyond 2^53-1"],
    ["17-digit integer", "i12345678901234567e", 1, "integer has more than 16 digits (beyond 2^53-1)"],
    ["huge integer", `i${"9".repeat(5000)}e`, 1, "integer has more than 16 digits (beyond 2^53-1)"],
    ["string length leading zero", "01:a", 0, "string length has a leading zero"],
    ["string longer than input", "5:abc", 0, "string length 5 exceeds the 3 bytes that remain"],
    ["string length without colon", "3abc", 1, "expected a string length digit, found 'a' (0x61)"],
    ["negative string length", "-1:a", 0, "unexpected '-' (0x2d) where a value should start"],
    ["unterminated list", "li1e", 4, "unexpected end of input, expected a value"],
    ["unterminated dict", "d1:ai1e", 7, "unexpected end of input, expected a value"],
    ["dict key not a string", "di1ei2ee", 1, "dict key must be a byte string, found 'i' (0x69)"],
    ["dict key without value", "d1:ae", 4, 'dict key "a" has no value'],
    ["duplicate key", "d1:ai1e1:ai2ee", 7, 'duplicate dict key "a"'],
    ["duplicate key after others (unsorted)", "d1:ai1e1:bi1e1:ai2ee", 13, 'duplicate dict key "a"'],
    ["stray end", "e", 0, "unexpected 'e' (0x65) where a value should start"],
    ["unknown type byte", "x", 0, "unexpected 'x' (0x78) where a value should start"],
    ["control byte", "\x00", 0, "unexpected byte 0x00 where a value should start"],
  ];
  for (const [name, input, offset, reason] of cases) {
    it(name, () => expect(rejection(input)).toEqual({ offset, reason }));
  }

  it("a 10-byte input claiming a 2^31-byte string throws at once, allocating nothing big", () => {
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    expect(rejection("2147483648:")).toEqual({ offset: 0, reason: "string length 2147483648 exceeds the 0 bytes that remain" });
    expect(rejection("999999999999999:x")).toEqual({ offset: 0, reason: "string length 999999999999999 exceeds the 1 bytes that remain" });
    expect(rejection("99999999999999999:x")).toEqual({ offset: 0, reason: "string length has more than 16 digits (beyond 2^53-1)" });
    expect(performance.now() - started).toBeLessThan(50);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it("bounds nesting without recursion: 100 levels pass, 101 fail, a million fail fast", () => {
    expect(() => decode(b("l".repeat(100) + "e".repeat(100)))).not.toThrow();
    expect(rejection("l".repeat(101) + "e".repeat(101))).toEqual({ offset: 100, reason: "nesting deeper than 100" });
    expect(rejection("l".repeat(1_000_000))).toEqual({ offset: 100, reason: "nesting deeper than 100" });
    expect(rejection("d1:a".repeat(10) + "i1e" + "e".repeat(10), { maxDepth: 5 })).toEqual({ offset: 20, reason: "nesting deeper than 5" });
  });

  it("bounds the number of items", () => {
    expect(rejection(`l${"i1e".repeat(10)}e`, { maxTokens: 10 })).toEqual({ offset: 28, reason: "more than 10 items (values, keys, ends)" });
    expect(() => decode(b(`l${"i1e".repeat(9)}e`), { maxTokens: 11 })).not.toThrow();
  });
});

describe("decodeDocument and decodePrefix", () => {
  it("gives the original bytes of each top-level value, even when not canonical", () => {
    const input = b("d8:announce3:url4:infod6:lengthi1e4:name1:xe1:zli1eee");
    const doc = decodeDocument(input);
    const span = doc.spans.get("info");
    expect(span).toBeDefined();
    expect(input.subarray(span?.start, span?.end).toString("latin1")).toBe("d6:lengthi1e4:name1:xe");
    expect(doc.spans.get("announce")).toEqual({ start: 11, end: 16 });
    expect(doc.spans.get("z")).toEqual({ start: 47, end: 52 });
    expect(doc.end).toBe(input.length);
  });

  it("decodePrefix stops after the value and reports where (BEP 9 data follows the dict)", () => {
    const input = b("d8:msg_typei1e5:piecei0eeRAWDATA");
    const doc = decodePrefix(input);
    expect(doc.end).toBe(25);
    expect(input.subarray(doc.end).toString()).toBe("RAWDATA");
    expect(() => decodeDocument(input)).toThrow(BencodeError);
  });
});

describe("encode", () => {
  it("writes canonical bencode with keys sorted by raw bytes", () => {
    const value = new Map<string, number | string>([
      ["zeta", 1],
      ["alpha", "x"],
      ["Beta", 2],
      ["\xff", 3],
      ["\x80", 4],
    ]);
    const out = encode(value);
    expect(out.toString("latin1")).toBe("d4:Betai2e5:alpha1:x4:zetai1e1:\x80i4e1:\xffi3ee");
    expect(decode(out, { keyOrder: "sorted" })).toBeInstanceOf(Map);
  });

  it("sorts a key above U+FFFF by its bytes, not by UTF-16 (where the package's plain sort would differ)", () => {
    // U+1F600 is F0 9F 98 80 in UTF-8 and D83D DE00 in UTF-16; U+FF21 is EF BC A1 / FF21.
    const astral = Buffer.from("\u{1F600}", "utf8").toString("latin1");
    const bmp = Buffer.from("\uFF21", "utf8").toString("latin1");
    const out = encode(new Map([[astral, 1], [bmp, 2]]));
    expect(decode(out, { keyOrder: "sorted" })).toEqual(new Map([[bmp, 2], [astral, 1]]));
  });

  it("writes strings as UTF-8 and byte arrays as they are", () => {
    expect(encode("é").toString("latin1")).toBe("2:\xc3\xa9");
    expect(encode(Buffer.from([0, 255]))).toEqual(Buffer.concat([b("2:"), Buffer.from([0, 255])]));
    expect(encode([1, -2, [], new Map()]).toString()).toBe("li1ei-2eledee");
  });

  it("refuses what cannot be canonical bencode", () => {
    expect(() => encode(1.5)).toThrow(new BencodeEncodeError("", "1.5 is not a safe integer"));
    expect(() => encode(new Map([["info", new Map([["length", 2 ** 60]])]]))).toThrow(
      new BencodeEncodeError("/info/length", `${2 ** 60} is not a safe integer`),
    );
    expect(() => encode(["\uD800"])).toThrow(BencodeEncodeError);
    expect(() => encode(new Map([["日本", 1]]))).toThrow(BencodeEncodeError);
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(() => encode(cycle as never)).toThrow(BencodeEncodeError);
  });
});
