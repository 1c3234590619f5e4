// Typed reads of decoded bencode for the metainfo parser: each one names the field it
// reads, so a wrong type becomes `info.piece length: must be an integer, got a byte string`.
import type { BencodeDict, BencodeList, BencodeValue } from "./bencode.js";
import { MetainfoError } from "./errors.js";

export function describeValue(value: BencodeValue | undefined): string {
  if (value === undefined) return "nothing (missing)";
  if (typeof value === "number") return `the integer ${value}`;
  if (Buffer.isBuffer(value)) return `a byte string of ${value.length} bytes`;
  if (Array.isArray(value)) return `a list of ${value.length} items`;
  return "a dictionary";
}

export function isDict(value: BencodeValue | undefined): value is BencodeDict {
  return value instanceof Map;
}

export function asDict(value: BencodeValue | undefined, field: string): BencodeDict {
  if (isDict(value)) return value;
  throw new MetainfoError(field, `must be a dictionary, got ${describeValue(value)}`);
}

export function asList(value: BencodeValue | undefined, field: string): BencodeList {
  if (Array.isArray(value)) return value;
  throw new MetainfoError(field, `must be a list, got ${describeValue(value)}`);
}

export function asBytes(value: BencodeValue | undefined, field: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  throw new MetainfoError(field, `must be a byte string, got ${describeValue(value)}`);
}

export function asInteger(value: BencodeValue | undefined, field: string): number {
  if (typeof value === "number") return value;
  throw new MetainfoError(field, `must be an integer, got ${describeValue(value)}`);
}

/** An integer in [min, max]; the bounds appear in the message. */
export function asIntegerIn(value: BencodeValue | undefined, field: string, min: number, max: number): number {
  const n = asInteger(value, field);
  if (n < min || n > max) throw new MetainfoError(field, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** The field `key` of `dict` passed to `read`, or undefined when absent. */
export function optional<T>(dict: BencodeDict, key: string, field: string, read: (value: BencodeValue, field: string) => T): T | undefined {
  const value = dict.get(key);
  return value === undefined ? undefined : read(value, field);
}
