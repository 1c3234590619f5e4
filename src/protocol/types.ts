/**
 * The typed value a .torrent (or, later, BEP 9 metadata) parses into. Shared by
 * protocol (parse/create), storage (layout, verify) and the actors. Every path here
 * is already sanitized: no component is empty, ".", "..", absolute, or holds NUL or
 * control characters, so joining it under a download directory cannot escape it.
 */
export interface FileEntry {
  /**
   * Components relative to the download directory (`get -o DIR`): a single-file
   * torrent has `[name]`; a multi-file torrent's entries start with its name,
   * `[name, "dir", "file.bin"]`.
   */
  readonly path: readonly string[];
  readonly length: number;
  /** Byte offset of this file in the torrent's concatenated payload (pad files included). */
  readonly offset: number;
  /** BEP 47 pad file (attr "p"): never written to disk, its bytes are zeros in the piece stream. */
  readonly pad: boolean;
}

export interface Metainfo {
  /** SHA-1 of the info dictionary's original bytes (never of a re-encoding). */
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  /** The original bytes of the info dictionary (served as BEP 9 metadata). */
  readonly infoBytes: Buffer;
  readonly name: string;
  readonly layout: "single" | "multi";
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** 20 x pieceCount bytes, piece i's SHA-1 at i*20. */
  readonly pieceHashes: Buffer;
  /** Total payload bytes, pad files included (what the piece hashes cover). */
  readonly length: number;
  /** In payload order; offsets are contiguous from 0 to `length`. */
  readonly files: readonly FileEntry[];
  /** BEP 3 `announce`, or undefined. */
  readonly announce: string | undefined;
  /** BEP 12 tiers; when the torrent has only `announce`, one tier holding it. */
  readonly announceList: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly urlList: readonly string[];
  /** BEP 27. */
  readonly private: boolean;
  /** The info dict also carries BEP 52 v2 fields (hybrid); we run it as v1. */
  readonly hybrid: boolean;
  readonly comment: string | undefined;
  readonly createdBy: string | undefined;
  readonly creationDate: number | undefined;
}

export interface MagnetLink {
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  readonly displayName: string | undefined;
  readonly trackers: readonly string[];
  readonly webSeeds: readonly string[];
  /** x.pe peer addresses, validated as host:port. */
  readonly peers: readonly { host: string; port: number }[];
}
