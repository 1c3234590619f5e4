import { encode, type BencodeEncodable } from "../../src/protocol/bencode.js";

/** Dict fields for tests; `undefined` removes a default. */
export type Fields = Record<string, BencodeEncodable | undefined>;

/** `n` distinct 20-byte hashes. */
export const hashes = (n: number): Buffer => {
  const out = Buffer.alloc(20 * n);
  for (let i = 0; i < n; i++) out.fill(i % 251, i * 20, i * 20 + 20);
  return out;
};

function dict(fields: Fields): Map<string, BencodeEncodable> {
  return new Map(Object.entries(fields).filter((e): e is [string, BencodeEncodable] => e[1] !== undefined));
}

/** A .torrent: a valid single-file info dict (100 bytes, one piece) with `info` applied over it. */
export function torrentOf(info: Fields, outer: Fields = {}): Buffer {
  const fullInfo = dict({ name: "a.bin", "piece length": 16_384, pieces: hashes(1), length: 100, ...info });
  return encode(new Map([["info", fullInfo], ...dict(outer)]));
}
