/**
 * The typed errors of the protocol parsers. Each one says where (a byte offset, a field,
 * a URI parameter) and what, so a CLI can print it as is and a peer log can keep it as a
 * structured reason. Parsers throw nothing else on bad input: tests assert `instanceof`.
 */

/** Malformed bencode: `offset` is the byte where decoding stopped. */
export class BencodeError extends Error {
  override readonly name = "BencodeError";
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`bencode: ${reason} (at byte ${offset})`);
  }
}

/** A value our encoder cannot write as canonical bencode; `path` locates it (`/info/length`). */
export class BencodeEncodeError extends Error {
  override readonly name = "BencodeEncodeError";
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`bencode encode: ${path || "/"}: ${reason}`);
  }
}

/** A .torrent that is valid bencode but not valid metainfo; `field` is a dotted path (`info.files[3].path`). */
export class MetainfoError extends Error {
  override readonly name = "MetainfoError";
  constructor(
    readonly field: string,
    readonly reason: string,
    options?: { cause: unknown },
  ) {
    super(`${field}: ${reason}`, options);
  }
}

/** A magnet URI we refuse; `param` is the query parameter (`xt`, `x.pe`) or `uri` for the whole. */
export class MagnetError extends Error {
  override readonly name = "MagnetError";
  constructor(
    readonly param: string,
    readonly reason: string,
  ) {
    super(`magnet ${param}: ${reason}`);
  }
}
