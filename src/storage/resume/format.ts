/**
 * The resume file's bytes: what one torrent had verified and written at a save, and what
 * its files looked like then. A small binary format, all integers big-endian:
 *
 *   offset  size               field
 *   0       8                  magic "SWSRESUM"
 *   8       2                  format version (1)
 *   10      20                 info-hash
 *   30      4                  piece count
 *   34      4                  file count (the metainfo's files, pads included, same order)
 *   38      8                  wall-clock time of the save, ms since the epoch
 *   46      ceil(pieces / 8)   the claimed pieces: a bitfield in the wire's layout
 *   ...     17 x files         per file: kind (0 absent, 1 regular file, 2 pad),
 *                              size in bytes, mtime in ns (both 0 unless kind 1)
 *   end-20  20                 SHA-1 of every byte before it
 *
 * Guarantees: decodeResume never throws and never allocates more than the input it is
 * given; a file cut short or with any byte changed is rejected (the trailing SHA-1 covers
 * every byte, and the counts must add up to the exact length), with the reason.
 */
import { createHash } from "node:crypto";
import { bitfieldByteLength, bitfieldViolation } from "../../protocol/wire/bitfield.js";

export const RESUME_MAGIC = Buffer.from("SWSRESUM", "latin1");
export const RESUME_VERSION = 1;
const HEADER = 46;
const FILE_RECORD = 17;
const CHECKSUM = 20;

/** What a file was at the save (pads are never on disk and never looked at). */
export type FileStamp =
  | { readonly kind: "absent" }
  | { readonly kind: "pad" }
  | { readonly kind: "file"; readonly size: number; readonly mtimeNs: bigint };

export interface ResumeData {
  readonly infoHash: Buffer;
  readonly pieceCount: number;
  /** Bitfield bytes (BEP 3 layout, spare bits zero) of the pieces verified and written. */
  readonly have: Buffer;
  readonly files: readonly FileStamp[];
  readonly savedAtMs: number;
}

export type ResumeRejection =
  | "truncated"
  | "badMagic"
  | "badVersion"
  | "badChecksum"
  | "badLength"
  | "badBitfield"
  | "badFileRecord";

export type DecodedResume =
  | { readonly kind: "decoded"; readonly data: ResumeData }
  | { readonly kind: "rejected"; readonly reason: ResumeRejection; readonly detail: string };

/** The exact size of a resume file for this many pieces and files. */
export function resumeByteLength(pieceCount: number, fileCount: number): number {
  return HEADER + bitfieldByteLength(pieceCount) + FILE_RECORD * fileCount + CHECKSUM;
}

const U64_MAX = (1n << 64n) - 1n;

export function encodeResume(data: ResumeData): Buffer {
  if (data.infoHash.length !== 20) throw new RangeError(`info-hash of ${data.infoHash.length} bytes`);
  const bad = bitfieldViolation(data.pieceCount, data.have);
  if (bad !== undefined) throw new RangeError(`resume bitfield: ${bad.detail}`);
  if (!Number.isSafeInteger(data.savedAtMs) || data.savedAtMs < 0) throw new RangeError(`savedAtMs ${data.savedAtMs}`);
  const out = Buffer.alloc(resumeByteLength(data.pieceCount, data.files.length));
  RESUME_MAGIC.copy(out, 0);
  out.writeUInt16BE(RESUME_VERSION, 8);
  data.infoHash.copy(out, 10);
  out.writeUInt32BE(data.pieceCount, 30);
  out.writeUInt32BE(data.files.length, 34);
  out.writeBigUInt64BE(BigInt(data.savedAtMs), 38);
  data.have.copy(out, HEADER);
  let at = HEADER + data.have.length;
  for (const stamp of data.files) {
    writeStamp(out, at, stamp);
    at += FILE_RECORD;
  }
  createHash("sha1").update(out.subarray(0, at)).digest().copy(out, at);
  return out;
}

function writeStamp(out: Buffer, at: number, stamp: FileStamp): void {
  switch (stamp.kind) {
    case "absent":
      out.writeUInt8(0, at);
      return;
    case "pad":
      out.writeUInt8(2, at);
      return;
    case "file":
      if (!Number.isSafeInteger(stamp.size) || stamp.size < 0) throw new RangeError(`file size ${stamp.size}`);
      if (stamp.mtimeNs < 0n || stamp.mtimeNs > U64_MAX) throw new RangeError(`mtime ${stamp.mtimeNs} ns`);
      out.writeUInt8(1, at);
      out.writeBigUInt64BE(BigInt(stamp.size), at + 1);
      out.writeBigUInt64BE(stamp.mtimeNs, at + 9);
      return;
    default: {
      const never: never = stamp;
      throw new Error(`unknown file stamp ${JSON.stringify(never)}`);
    }
  }
}

const reject = (reason: ResumeRejection, detail: string): DecodedResume => ({ kind: "rejected", reason, detail });

export function decodeResume(bytes: Buffer): DecodedResume {
  if (bytes.length < HEADER + CHECKSUM) return reject("truncated", `${bytes.length} bytes, a header and checksum need ${HEADER + CHECKSUM}`);
  if (!bytes.subarray(0, 8).equals(RESUME_MAGIC)) return reject("badMagic", "not a swarmsup resume file");
  const body = bytes.subarray(0, bytes.length - CHECKSUM);
  const sum = createHash("sha1").update(body).digest();
  if (!sum.equals(bytes.subarray(bytes.length - CHECKSUM))) return reject("badChecksum", "SHA-1 mismatch: the file is torn or damaged");
  const version = bytes.readUInt16BE(8);
  if (version !== RESUME_VERSION) return reject("badVersion", `format version ${version}, this build reads ${RESUME_VERSION}`);
  const pieceCount = bytes.readUInt32BE(30);
  const fileCount = bytes.readUInt32BE(34);
  const expected = resumeByteLength(pieceCount, fileCount);
  if (bytes.length !== expected) return reject("badLength", `${bytes.length} bytes, ${pieceCount} pieces and ${fileCount} files need ${expected}`);
  const savedAt = bytes.readBigUInt64BE(38);
  if (savedAt > BigInt(Number.MAX_SAFE_INTEGER)) return reject("badLength", `save time ${savedAt} ms is out of range`);
  const have = Buffer.from(bytes.subarray(HEADER, HEADER + bitfieldByteLength(pieceCount)));
  const badBits = bitfieldViolation(pieceCount, have);
  if (badBits !== undefined) return reject("badBitfield", badBits.detail);
  const files: FileStamp[] = [];
  let at = HEADER + have.length;
  for (let i = 0; i < fileCount; i++, at += FILE_RECORD) {
    const stamp = readStamp(bytes, at);
    if (typeof stamp === "string") return reject("badFileRecord", `file ${i}: ${stamp}`);
    files.push(stamp);
  }
  return { kind: "decoded", data: { infoHash: Buffer.from(bytes.subarray(10, 30)), pieceCount, have, files, savedAtMs: Number(savedAt) } };
}

/** The stamp at `at`, or what is wrong with it. */
function readStamp(bytes: Buffer, at: number): FileStamp | string {
  const kind = bytes.readUInt8(at);
  const size = bytes.readBigUInt64BE(at + 1);
  const mtimeNs = bytes.readBigUInt64BE(at + 9);
  switch (kind) {
    case 0:
    case 2:
      if (size !== 0n || mtimeNs !== 0n) return "size and mtime must be 0 for an absent or pad file";
      return kind === 0 ? { kind: "absent" } : { kind: "pad" };
    case 1:
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) return `size ${size} is out of range`;
      return { kind: "file", size: Number(size), mtimeNs };
    default:
      return `unknown kind ${kind}`;
  }
}
