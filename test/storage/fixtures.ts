import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { FileEntry, Metainfo } from "../../src/protocol/types.js";
import type { PayloadLayout } from "../../src/storage/layout.js";

export interface FileSpec {
  readonly length: number;
  readonly pad?: boolean;
}

/** A payload layout built by hand (no parser): files in order, offsets contiguous. */
export function layoutOf(specs: readonly FileSpec[], pieceLength: number, name = "payload"): PayloadLayout {
  let offset = 0;
  const files: FileEntry[] = specs.map((spec, i) => {
    const entry: FileEntry = {
      path: spec.pad === true ? [name, ".pad", String(spec.length)] : [name, `f${i}`],
      length: spec.length,
      offset,
      pad: spec.pad === true,
    };
    offset += spec.length;
    return entry;
  });
  return { pieceLength, pieceCount: Math.ceil(offset / pieceLength), length: offset, files };
}

/** The SHA-1s of a payload held in memory, piece by piece. */
export function pieceHashesOf(payload: Buffer, pieceLength: number): Buffer {
  const count = Math.ceil(payload.length / pieceLength);
  const hashes = Buffer.alloc(count * 20);
  for (let i = 0; i < count; i++) {
    createHash("sha1").update(payload.subarray(i * pieceLength, (i + 1) * pieceLength)).digest().copy(hashes, i * 20);
  }
  return hashes;
}

/** A complete Metainfo built by hand around a layout, for storage tests that must not depend on the parser. */
export function metainfoOf(layout: PayloadLayout, pieceHashes: Buffer, name = "payload"): Metainfo {
  const infoHash = createHash("sha1").update(pieceHashes).digest();
  const single = layout.files.length === 1 && layout.files[0]?.path.length === 1;
  return {
    infoHash,
    infoHashHex: infoHash.toString("hex"),
    infoBytes: Buffer.alloc(0),
    name,
    layout: single ? "single" : "multi",
    pieceLength: layout.pieceLength,
    pieceCount: layout.pieceCount,
    pieceHashes,
    length: layout.length,
    files: layout.files,
    announce: undefined,
    announceList: [],
    urlList: [],
    private: false,
    hybrid: false,
    comment: undefined,
    createdBy: undefined,
    creationDate: undefined,
  };
}

/** Flips the bits of one byte of a file in place (damage that keeps its size). */
export async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, at);
    one[0] = (one[0] ?? 0) ^ 0xff;
    await handle.write(one, 0, 1, at);
  } finally {
    await handle.close();
  }
}
