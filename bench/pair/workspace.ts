/**
 * The bench's scratch space: a temp dir under /tmp holding one random file, its .torrent
 * (made by `swarmsup create`, so both clients load the same metainfo) and its sha256, the
 * reference every download is checked against. `remove` deletes it all.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createCommand } from "./peers.js";

export interface Workspace {
  readonly dir: string;
  readonly dataFile: string;
  readonly torrent: string;
  readonly bytes: number;
  readonly sha256: string;
  remove(): void;
}

const CHUNK = 16 * 1024 * 1024;

/** `created` hears of the dir's removal as soon as it exists, so an exit during preparation can clean up too. */
export async function prepareWorkspace(bytes: number, pieceLength: number, created: (remove: () => void) => void): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), "swarmsup-bench-pair-"));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  created(remove);
  try {
    const dataFile = join(dir, "seed", "payload.bin");
    const torrent = join(dir, "payload.torrent");
    writeRandomFile(dataFile, bytes);
    const create = createCommand(dataFile, torrent, pieceLength);
    execFileSync(create.file, [...create.args], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SWARMSUP_LOG: "warn" } });
    // Reading it back warms the page cache as well: every seed then reads from memory.
    const sha256 = await sha256File(dataFile);
    return { dir, dataFile, torrent, bytes, sha256, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

function writeRandomFile(path: string, bytes: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, bytes));
    for (let written = 0; written < bytes; ) {
      const n = Math.min(chunk.length, bytes - written);
      randomFillSync(chunk, 0, n);
      // A short write only means fewer random bytes this turn: the next chunk is fresh anyway.
      written += writeSync(fd, chunk, 0, n, written);
    }
  } finally {
    closeSync(fd);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
