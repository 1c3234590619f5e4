/**
 * Bencode for untrusted input (strict, iterative decoder) and for what we write (the
 * `bencode` package's encoder, fed so that its key sort is a raw-byte sort).
 *
 * The decoder guarantees, for any input:
 * - it throws nothing but BencodeError, whose `offset` is the byte where it stopped;
 * - no recursion: an explicit stack, bounded by `maxDepth` (default 100, libtorrent's);
 * - bounded work and memory: a `maxTokens` item budget (default 1,000,000), and every length
 *   is checked against the bytes that remain before anything is sliced or copied;
 * - canonical integers only: no leading zeros, no `-0`, no `+`, no empty `ie`; integers
 *   outside the safe range (|n| > 2^53-1) are a BencodeError, never a rounded number
 *   (the package's encoder cannot write a bigint, and no torrent field needs one);
 * - string lengths without leading zeros; no trailing bytes after the value (`decode`);
 * - duplicate dict keys (raw-byte equal) are an error: a reader that keeps the first and
 *   one that keeps the last would see two different torrents;
 * - key order: `keyOrder: "any"` (default) accepts unsorted keys, as libtorrent and
 *   Transmission do (old creators wrote them; nothing is ambiguous, and we never hash a
 *   re-encoding); `"sorted"` requires strictly ascending raw-byte order.
 *
 * Decoded values: integers are `number`; byte strings are `Buffer` copies (never views
 * into the input, so a reused receive buffer cannot change them); dicts are `Map`s whose
 * keys are the latin1 ("binary") reading of the raw key bytes: one char per byte, so
 * comparing keys as strings is comparing raw bytes, and ASCII keys read naturally
 * (`dict.get("piece length")`).
 *
 * Why not the package's decoder: it recurses (stack depth set by the input), reads
 * `i1.5e`, `i01e` and 20-digit integers (rounded), keeps the last of duplicate keys,
 * turns a non-UTF-8 key into hex (which can collide with a real key), and a `__proto__`
 * key sets the decoded object's prototype.
 */
import bencodePackage from "bencode";
import { BencodeEncodeError, BencodeError } from "./errors.js";

export type BencodeValue = number | Buffer | BencodeList | BencodeDict;
export interface BencodeList extends Array<BencodeValue> {}
/** Keys are latin1 strings of the raw key bytes (see the module comment). */
export interface BencodeDict extends Map<string, BencodeValue> {}

export interface DecodeOptions {
  /** Containers nested deeper than this are an error. Default 100. */
  readonly maxDepth?: number;
  /** Items read (values, dict keys, container ends); more is an error. Default 1,000,000. */
  readonly maxTokens?: number;
  /** "any" (default) accepts unsorted dict keys; "sorted" rejects them. Duplicates are always rejected. */
  readonly keyOrder?: "any" | "sorted";
}

export interface ByteSpan {
  readonly start: number;
  readonly end: number;
}

export interface DecodedDocument {
  readonly value: BencodeValue;
  /** For a top-level dict: each key's value as [start, end) in the input (e.g. the info dict's original bytes). */
  readonly spans: ReadonlyMap<string, ByteSpan>;
  /** Offset just past the value. */
  readonly end: number;
}

export const DEFAULT_MAX_DEPTH = 100;
export const DEFAULT_MAX_TOKENS = 1_000_000;

const CH_I = 0x69;
const CH_L = 0x6c;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;
/** 2^53-1 has 16 digits; a 17th digit is out of range before we look further. */
const MAX_INTEGER_DIGITS = 16;

/** Decodes exactly one value that must fill the whole input. */
export function decode(input: Uint8Array, options: DecodeOptions = {}): BencodeValue {
  return decodeDocument(input, options).value;
}

/** Like `decode`, plus the byte spans of a top-level dict's values. */
export function decodeDocument(input: Uint8Array, options: DecodeOptions = {}): DecodedDocument {
  const doc = decodePrefix(input, options);
  if (doc.end !== input.length) throw new BencodeError(doc.end, `trailing bytes after the value (${input.length - doc.end})`);
  return doc;
}

type Frame =
  | { readonly kind: "list"; readonly items: BencodeList }
  | { readonly kind: "dict"; readonly map: BencodeDict; key: string | undefined; lastKey: string | undefined };

/**
 * Decodes one value at the start of `input` and says where it ends; bytes after it are
 * left alone (BEP 9 metadata messages carry raw data after a bencoded dict).
 */
export function decodePrefix(input: Uint8Array, options: DecodeOptions = {}): DecodedDocument {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const sortedKeys = options.keyOrder === "sorted";
  const reader = new Reader(input);
  const stack: Frame[] = [];
  const spans = new Map<string, ByteSpan>();
  let tokens = 0;
  let topValueStart = 0;

  for (;;) {
    if (++tokens > maxTokens) throw new BencodeError(reader.pos, `more than ${maxTokens} items (values, keys, ends)`);
    const top = stack[stack.length - 1];
    const byte = reader.peek("a value");

    let value: BencodeValue;
    if (top?.kind === "dict" && top.key === undefined) {
      if (byte !== CH_E) {
        readKey(top);
        continue;
      }
      reader.pos++;
      stack.pop();
      value = top.map;
    } else {
      if (stack.length === 1) topValueStart = reader.pos;
      if (byte === CH_I) {
        value = reader.integer();
      } else if (byte >= CH_0 && byte <= CH_9) {
        value = reader.string();
      } else if (byte === CH_L || byte === CH_D) {
        if (stack.length >= maxDepth) throw new BencodeError(reader.pos, `nesting deeper than ${maxDepth}`);
        reader.pos++;
        stack.push(byte === CH_L ? { kind: "list", items: [] } : { kind: "dict", map: new Map(), key: undefined, lastKey: undefined });
        continue;
      } else if (byte === CH_E && top?.kind === "list") {
        reader.pos++;
        stack.pop();
        value = top.items;
      } else if (byte === CH_E && top?.kind === "dict") {
        throw new BencodeError(reader.pos, `dict key ${JSON.stringify(top.key)} has no value`);
      } else {
        throw new BencodeError(reader.pos, `unexpected ${describeByte(byte)} where a value should start`);
      }
    }

    const parent = stack[stack.length - 1];
    if (parent === undefined) return { value, spans, end: reader.pos };
    if (parent.kind === "list") {
      parent.items.push(value);
    } else {
      const key = parent.key as string; // a dict frame only takes a value after its key
      parent.map.set(key, value);
      parent.key = undefined;
      if (stack.length === 1) spans.set(key, { start: topValueStart, end: reader.pos });
    }
  }

  function readKey(dict: Extract<Frame, { kind: "dict" }>): void {
    const keyStart = reader.pos;
    const byte = reader.peek("a dict key");
    if (byte < CH_0 || byte > CH_9) throw new BencodeError(keyStart, `dict key must be a byte string, found ${describeByte(byte)}`);
    const key = reader.key();
    if (dict.map.has(key)) throw new BencodeError(keyStart, `duplicate dict key ${JSON.stringify(key)}`);
    if (sortedKeys && dict.lastKey !== undefined && key < dict.lastKey) {
      throw new BencodeError(keyStart, `dict key ${JSON.stringify(key)} is not in sorted order (after ${JSON.stringify(dict.lastKey)})`);
    }
    dict.key = key;
    dict.lastKey = key;
  }
}

class Reader {
  pos = 0;
  private readonly input: Buffer;
  constructor(input: Uint8Array) {
    // A view, not a copy: lets keys be read as latin1 without a Buffer per key.
    this.input = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }

  peek(what: string): number {
    const byte = this.input[this.pos];
    if (byte === undefined) throw new BencodeError(this.pos, `unexpected end of input, expected ${what}`);
    return byte;
  }

  /** At `i`: reads `i<digits>e`. */
  integer(): number {
    const start = this.pos;
    this.pos++;
    let negative = false;
    if (this.peek("an integer") === CH_MINUS) {
      negative = true;
      this.pos++;
    }
    const digitsStart = this.pos;
    const magnitude = this.digits("integer", "an integer digit", CH_E);
    const digitCount = this.pos - digitsStart;
    if (digitCount === 0) throw new BencodeError(start, "integer has no digits");
    if (digitCount > 1 && this.input[digitsStart] === CH_0) throw new BencodeError(start, "integer has a leading zero");
    if (negative && magnitude === 0) throw new BencodeError(start, "negative zero is not a valid integer");
    this.pos++; // 'e'
    return negative ? -magnitude : magnitude;
  }

  /** At a digit: reads `<length>:<bytes>` and returns a copy of the bytes. */
  string(): Buffer {
    const [start, end] = this.stringSpan();
    return Buffer.from(this.input.subarray(start, end));
  }

  /** At a digit: reads a byte string as a dict key (latin1, one char per byte). */
  key(): string {
    const [start, end] = this.stringSpan();
    return this.input.toString("latin1", start, end);
  }

  /** Reads `<length>:` and skips the bytes; returns where they lie. */
  private stringSpan(): [number, number] {
    const start = this.pos;
    const length = this.digits("string length", "a string length digit", CH_COLON);
    if (this.pos - start > 1 && this.input[start] === CH_0) throw new BencodeError(start, "string length has a leading zero");
    this.pos++; // ':'
    const remaining = this.input.length - this.pos;
    if (length > remaining) throw new BencodeError(start, `string length ${length} exceeds the ${remaining} bytes that remain`);
    const bytesStart = this.pos;
    this.pos += length;
    return [bytesStart, this.pos];
  }

  /** Reads decimal digits up to `terminator` (not consumed); bounded to safe integers. */
  private digits(noun: string, what: string, terminator: number): number {
    const start = this.pos;
    let value = 0;
    for (;;) {
      const byte = this.peek(what);
      if (byte === terminator) break;
      if (byte < CH_0 || byte > CH_9) throw new BencodeError(this.pos, `expected ${what}, found ${describeByte(byte)}`);
      if (this.pos - start >= MAX_INTEGER_DIGITS) throw new BencodeError(start, `${noun} has more than 16 digits (beyond 2^53-1)`);
      value = value * 10 + (byte - CH_0);
      this.pos++;
    }
    if (!Number.isSafeInteger(value)) throw new BencodeError(start, `${noun} ${value} is beyond 2^53-1`);
    return value;
  }
}

function describeByte(byte: number): string {
  const printable = byte >= 0x20 && byte < 0x7f;
  return printable ? `'${String.fromCharCode(byte)}' (0x${byte.toString(16).padStart(2, "0")})` : `byte 0x${byte.toString(16).padStart(2, "0")}`;
}

// ---------------------------------------------------------------------------------------
// Encoding

/** What `encode` writes: strings are UTF-8, Map keys are latin1 strings (one char per raw byte). */
export type BencodeEncodable = number | string | Uint8Array | readonly BencodeEncodable[] | ReadonlyMap<string, BencodeEncodable>;

/** The dict key (latin1 form) for text whose raw bytes are its UTF-8, e.g. a BEP 52 file tree name. */
export function utf8Key(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** The deepest value `encode` accepts: deeper than anything `decode` returns, and a guard against cycles. */
const MAX_ENCODE_DEPTH = 512;

/**
 * Canonical bencode of `value`: dict keys in ascending raw-byte order, no duplicates
 * (a Map cannot hold two equal keys), integers only.
 */
export function encode(value: BencodeEncodable): Buffer {
  const out = bencodePackage.encode(toPackageInput(value, "", 0));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The package sorts each Map's keys with `Array.prototype.sort()`, i.e. by their string
 * form in UTF-16 code units, and writes a Uint8Array key as its raw bytes. So each key
 * becomes its raw bytes whose string form is the latin1 key: code-unit order of a latin1
 * string is exactly the raw-byte order, the order BEP 3 requires.
 */
function sortableKey(key: string, path: string): Buffer {
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) > 0xff) throw new BencodeEncodeError(path, `dict key ${JSON.stringify(key)} is not a latin1 (one char per byte) string`);
  }
  const bytes = Buffer.from(key, "latin1");
  Object.defineProperty(bytes, Symbol.toPrimitive, { value: () => key });
  return bytes;
}

// String.prototype.isWellFormed is ES2024; our lib is ES2023.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type PackageInput = number | string | Uint8Array | PackageInput[] | Map<Buffer, PackageInput>;

function toPackageInput(value: BencodeEncodable, path: string, depth: number): PackageInput {
  if (depth > MAX_ENCODE_DEPTH) throw new BencodeEncodeError(path, `nested deeper than ${MAX_ENCODE_DEPTH} (a cycle?)`);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new BencodeEncodeError(path, `${value} is not a safe integer`);
    return value;
  }
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) throw new BencodeEncodeError(path, "string holds a lone surrogate (not encodable as UTF-8)");
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (isList(value)) return value.map((item, i) => toPackageInput(item, `${path}/${i}`, depth + 1));
  const dict = new Map<Buffer, PackageInput>();
  for (const [key, item] of value) {
    const itemPath = `${path}/${key}`;
    dict.set(sortableKey(key, itemPath), toPackageInput(item, itemPath, depth + 1));
  }
  return dict;
}

function isList(value: readonly BencodeEncodable[] | ReadonlyMap<string, BencodeEncodable>): value is readonly BencodeEncodable[] {
  return Array.isArray(value);
}
