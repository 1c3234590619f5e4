// The `bencode` package ships no types; this is the part of its API we use.
declare module "bencode" {
  const bencode: {
    encode(data: unknown, buffer?: Uint8Array, offset?: number): Uint8Array;
    decode(data: Uint8Array | string, start?: number, end?: number, encoding?: string): unknown;
    byteLength(value: unknown): number;
  };
  export default bencode;
}
