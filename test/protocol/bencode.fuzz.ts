import fc from "fast-check";
import { expect } from "vitest";

/**
 * Shared helpers of the parser property tests: damage a valid input the ways a network
 * or a hostile file does (flip bits, cut, insert, delete, overwrite), and check that a
 * parser either succeeds or throws its own typed error — nothing else.
 */
export type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "delete"; readonly at: number; readonly count: number }
  | { readonly kind: "overwrite"; readonly at: number; readonly byte: number };

const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
// Bytes that mean something to bencode are likelier than uniform noise to reach deep code.
const interestingByte = fc.oneof(
  fc.constantFrom(...Buffer.from("ilde:-0123456789")),
  fc.integer({ min: 0, max: 255 }),
);

export const mutationArb: fc.Arbitrary<Mutation[]> = fc.array<Mutation>(
  fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at: position }),
    fc.record({ kind: fc.constant("insert" as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: position, count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant("overwrite" as const), at: position, byte: interestingByte }),
  ),
  { minLength: 1, maxLength: 4 },
);

/** Applies mutations; positions are fractions of the current length so they always land. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(input);
  for (const m of mutations) {
    const at = Math.floor(m.at * (out.length + 1));
    switch (m.kind) {
      case "flip":
        if (at < out.length) out[at] = (out[at] ?? 0) ^ (1 << m.bit);
        break;
      case "truncate":
        out = out.subarray(0, at);
        break;
      case "insert":
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case "delete":
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
        break;
      case "overwrite":
        if (at < out.length) out[at] = m.byte;
        break;
      default: {
        const never: never = m;
        throw new Error(`unknown mutation ${String(never)}`);
      }
    }
  }
  return out;
}

type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E;

/** The error `run` throws, which must be an instance of `cls`; fails the test when nothing or something else is thrown. */
export function thrown<E extends Error>(run: () => unknown, cls: ErrorClass<E>): E {
  try {
    run();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  return expect.fail(`expected a ${cls.name}, nothing was thrown`);
}

/** Runs `parse`; a throw must be one of `allowed` (a bug otherwise, reported with its stack). */
export function expectOnlyTyped(parse: () => unknown, allowed: readonly ErrorClass[]): "ok" | "rejected" {
  try {
    parse();
    return "ok";
  } catch (e) {
    if (allowed.some((cls) => e instanceof cls)) return "rejected";
    expect.fail(`threw an untyped error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
