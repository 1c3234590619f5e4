/**
 * Finds what `create <path>` shares, in the order the torrent lists it.
 * - A regular file is a single-file torrent; a directory is a multi-file torrent of
 *   every regular file under it, each directory's entries sorted by the bytes of their
 *   names (UTF-8, so codepoint order), depth first. Hidden files are included; empty
 *   directories contribute nothing (a torrent has no way to carry them).
 * - Symlinks are followed (to files and to directories), like mktorrent and
 *   transmission-create: the torrent carries the bytes they point at. A symlink to one
 *   of its own ancestor directories (a cycle) and a dangling symlink are errors.
 * - Nothing is skipped silently: FIFOs, sockets, devices, names that are not valid
 *   UTF-8 or that hold control characters (no torrent parser would take them back),
 *   and unreadable directories all stop the scan with an error naming the path.
 * The walk uses an explicit stack, so a deep tree cannot overflow the call stack.
 */
import type { Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";

export interface ScannedFile {
  /** Components below the top directory; [] for a single-file torrent. */
  readonly path: readonly string[];
  readonly absolutePath: string;
  readonly length: number;
}

export interface ScannedPayload {
  readonly layout: "single" | "multi";
  /** The base name of the path given (the torrent's default name). */
  readonly name: string;
  readonly files: readonly ScannedFile[];
  readonly length: number;
}

export class PayloadScanError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = "PayloadScanError";
  }
}

/** A directory on the current walk's path from the top, by device and inode (cycle detection). */
interface Ancestor {
  readonly key: string;
  readonly parent: Ancestor | undefined;
}

interface PendingEntry {
  readonly absolutePath: string;
  readonly path: readonly string[];
  readonly ancestors: Ancestor | undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function scanPayload(path: string): Promise<ScannedPayload> {
  const top = resolve(path);
  const name = checkedName(basename(top), top);
  const topStats = await statOrFail(top);
  if (topStats.isFile()) {
    if (topStats.size === 0) throw new PayloadScanError(top, "the file is empty (a torrent must hold at least one byte)");
    return { layout: "single", name, files: [{ path: [], absolutePath: top, length: topStats.size }], length: topStats.size };
  }
  if (!topStats.isDirectory()) throw new PayloadScanError(top, "not a regular file or a directory");

  const files: ScannedFile[] = [];
  let length = 0;
  const stack: PendingEntry[] = [{ absolutePath: top, path: [], ancestors: undefined }];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const stats = await statOrFail(entry.absolutePath);
    if (stats.isFile()) {
      files.push({ path: entry.path, absolutePath: entry.absolutePath, length: stats.size });
      length += stats.size;
      continue;
    }
    if (!stats.isDirectory()) throw new PayloadScanError(entry.absolutePath, "not a regular file or a directory");
    const key = `${stats.dev}:${stats.ino}`;
    if (isAncestor(entry.ancestors, key)) {
      throw new PayloadScanError(entry.absolutePath, "a symlink cycle (it leads back to a directory above it)");
    }
    const ancestors: Ancestor = { key, parent: entry.ancestors };
    const children = await sortedChildren(entry.absolutePath);
    // Reverse onto the stack so the smallest name is visited first.
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i] as string;
      stack.push({ absolutePath: join(entry.absolutePath, child), path: [...entry.path, child], ancestors });
    }
  }
  if (length === 0) throw new PayloadScanError(top, "the directory holds no bytes (a torrent must hold at least one)");
  return { layout: "multi", name, files, length };
}

async function sortedChildren(dir: string): Promise<string[]> {
  let names: Buffer[];
  try {
    names = await readdir(dir, { encoding: "buffer" });
  } catch (err) {
    throw new PayloadScanError(dir, describe(err));
  }
  return names
    .sort(Buffer.compare)
    .map((raw) => {
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch {
        throw new PayloadScanError(join(dir, raw.toString("latin1")), "the name is not valid UTF-8");
      }
      return checkedName(name, join(dir, name));
    });
}

function checkedName(name: string, where: string): string {
  if (name === "") throw new PayloadScanError(where, "has no name to give the torrent (use --name)");
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new PayloadScanError(where, "the name holds a control character");
  return name;
}

function isAncestor(chain: Ancestor | undefined, key: string): boolean {
  for (let link = chain; link !== undefined; link = link.parent) if (link.key === key) return true;
  return false;
}

async function statOrFail(path: string): Promise<Stats> {
  try {
    return await stat(path); // follows symlinks: see the policy above
  } catch (err) {
    const dangling = isErrno(err, "ENOENT") ? "does not exist (or is a dangling symlink)" : describe(err);
    throw new PayloadScanError(path, dangling);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
