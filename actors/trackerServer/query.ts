/**
 * An HTTP request target split into its path and its query parameters, values as raw bytes
 * (an info_hash is 20 arbitrary bytes, percent-encoded byte by byte: a UTF-8 decoder such as
 * URLSearchParams would mangle it). Total over its input: every string gives a typed outcome,
 * the work is linear in its length and the parameters kept are capped.
 */

export type QueryParse =
  | { readonly kind: "parsed"; readonly path: string; readonly params: ReadonlyMap<string, readonly Buffer[]> }
  | { readonly kind: "invalid"; readonly reason: string };

const PERCENT = 0x25;
const PLUS = 0x2b;

export function parseTarget(target: string, maxParams: number): QueryParse {
  const mark = target.indexOf("?");
  const path = mark < 0 ? target : target.slice(0, mark);
  const params = new Map<string, Buffer[]>();
  if (mark < 0) return { kind: "parsed", path, params };
  const pairs = target.slice(mark + 1).split("&", maxParams + 1);
  if (pairs.length > maxParams) return { kind: "invalid", reason: `more than ${maxParams} query parameters` };
  for (const pair of pairs) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq < 0 ? "" : pair.slice(eq + 1));
    if (key === undefined || value === undefined) return { kind: "invalid", reason: `bad percent-encoding in ${JSON.stringify(pair.slice(0, 64))}` };
    const name = key.toString("latin1");
    const list = params.get(name);
    if (list === undefined) params.set(name, [value]);
    else list.push(value);
  }
  return { kind: "parsed", path, params };
}

/** `%XX` -> that byte, `+` -> space, any other char -> its latin1 byte; undefined if malformed or beyond latin1. */
export function decodeComponent(text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return undefined;
    if (code === PLUS) {
      out[n++] = 0x20;
    } else if (code === PERCENT) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      out[n++] = code;
    }
  }
  return Buffer.from(out.subarray(0, n));
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}
