/**
 * The file layout of an info dict: its name, its files in payload order with running
 * offsets (BEP 47 pad files included, marked, and counted in the offsets), and for a
 * BEP 52 hybrid the check that its v2 `file tree` describes the same files as its v1 list.
 *
 * Guarantees: every returned path passed `checkPath` (so it cannot leave the download
 * directory); no two real files share a path and none is another's directory; the file
 * count and total length are within the limits given; lengths are safe integers, so the
 * offsets are exact.
 */
import type { BencodeDict, BencodeValue } from "./bencode.js";
import { MetainfoError } from "./errors.js";
import { asBytes, asDict, asIntegerIn, asList, isDict } from "./metainfoFields.js";
import { checkComponent, checkPath, findPathConflict, utf8Lossy, utf8OrUndefined } from "./paths.js";
import type { FileEntry } from "./types.js";

export interface FileLayout {
  readonly name: string;
  readonly layout: "single" | "multi";
  readonly files: readonly FileEntry[];
  /** Sum of all file lengths, pad files included. */
  readonly length: number;
}

export interface FileLimits {
  readonly maxFiles: number;
  readonly maxTotalLength: number;
}

/** `name.utf-8` when it is a valid UTF-8 byte string, else `name` (invalid UTF-8 replaced). */
function readName(info: BencodeDict): string {
  const preferred = info.get("name.utf-8");
  if (Buffer.isBuffer(preferred)) {
    const text = utf8OrUndefined(preferred);
    if (text !== undefined) return checked(text, "info.name.utf-8");
  }
  return checked(utf8Lossy(asBytes(info.get("name"), "info.name")), "info.name");
}

function checked(component: string, field: string): string {
  const verdict = checkComponent(component);
  if (verdict.kind === "rejected") throw new MetainfoError(field, verdict.reason);
  return verdict.name;
}

/** `path.utf-8` when it is a list of valid UTF-8 byte strings, else `path`; with the key used. */
function readPathComponents(entry: BencodeDict, field: string): { key: string; components: string[] } {
  const preferred = entry.get("path.utf-8");
  if (Array.isArray(preferred)) {
    const texts = preferred.map((c) => (Buffer.isBuffer(c) ? utf8OrUndefined(c) : undefined));
    if (texts.every((t): t is string => t !== undefined)) return { key: "path.utf-8", components: texts };
  }
  const raw = asList(entry.get("path"), `${field}.path`);
  return { key: "path", components: raw.map((c, j) => utf8Lossy(asBytes(c, `${field}.path[${j}]`))) };
}

function isPadAttr(attr: BencodeValue | undefined): boolean {
  return Buffer.isBuffer(attr) && attr.includes(0x70); // 'p'
}

export function parseFileLayout(info: BencodeDict, limits: FileLimits): FileLayout {
  const name = readName(info);
  const single = info.get("length");
  const multi = info.get("files");
  if (single !== undefined && multi !== undefined) throw new MetainfoError("info", "has both 'length' (single file) and 'files' (multi-file)");
  if (single !== undefined) {
    const length = asIntegerIn(single, "info.length", 0, limits.maxTotalLength);
    return { name, layout: "single", files: [{ path: [name], length, offset: 0, pad: false }], length };
  }
  if (multi === undefined) throw new MetainfoError("info", "needs 'length' (single file) or 'files' (multi-file)");

  const list = asList(multi, "info.files");
  if (list.length === 0) throw new MetainfoError("info.files", "is empty");
  if (list.length > limits.maxFiles) throw new MetainfoError("info.files", `holds ${list.length} files (at most ${limits.maxFiles})`);
  const files: FileEntry[] = [];
  let offset = 0;
  for (const [i, item] of list.entries()) {
    const field = `info.files[${i}]`;
    const entry = asDict(item, field);
    const length = asIntegerIn(entry.get("length"), `${field}.length`, 0, limits.maxTotalLength);
    const { key, components } = readPathComponents(entry, field);
    const verdict = checkPath(components);
    if (verdict.kind === "rejected") {
      throw new MetainfoError(verdict.index < 0 ? `${field}.${key}` : `${field}.${key}[${verdict.index}]`, verdict.reason);
    }
    files.push({ path: [name, ...components], length, offset, pad: isPadAttr(entry.get("attr")) });
    offset += length;
    // Each length is at most the limit, so the sum stays exact below 2^53 before this check.
    if (offset > limits.maxTotalLength) throw new MetainfoError("info.files", `total length exceeds ${limits.maxTotalLength} bytes`);
  }
  rejectConflicts(files);
  return { name, layout: "multi", files, length: offset };
}

// Pad files are never written, and libtorrent names them all ".pad/<size>": equal pad
// paths are expected, so only real files take part.
function rejectConflicts(files: readonly FileEntry[]): void {
  const real = files.map((f, i) => ({ f, i })).filter(({ f }) => !f.pad);
  const conflict = findPathConflict(real.map(({ f }) => f.path.slice(1)));
  if (conflict === undefined) return;
  const at = (k: number): number => real[k]?.i ?? -1;
  switch (conflict.kind) {
    case "duplicate":
      throw new MetainfoError(`info.files[${at(conflict.index)}].path`, `"${conflict.path}" is also the path of info.files[${at(conflict.first)}]`);
    case "fileIsDirectory":
      throw new MetainfoError(`info.files[${at(conflict.index)}].path`, `"${conflict.path}" is both a file and a directory (see info.files[${at(conflict.other)}])`);
    default: {
      const never: never = conflict;
      throw new Error(`unknown conflict ${String(never)}`);
    }
  }
}

interface TreeFile {
  readonly path: readonly string[];
  readonly length: number;
}

/**
 * The files of a BEP 52 `file tree` in tree order. Iterative: the tree's depth is already
 * bounded by the decoder, and its size by the decoder's item budget.
 */
function fileTreeFiles(tree: BencodeValue, maxFiles: number): TreeFile[] {
  const out: TreeFile[] = [];
  // Depth-first in key order: a directory's entries go on the stack in reverse, so they
  // come off in order and a subdirectory is finished before its next sibling.
  const stack: { key: string; node: BencodeValue | undefined; parent: readonly string[] }[] = [];
  const pushEntries = (dict: BencodeDict, parent: readonly string[]): void => {
    const entries = [...dict];
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, node] = entries[i] as [string, BencodeValue];
      stack.push({ key, node, parent });
    }
  };
  pushEntries(asDict(tree, "info.file tree"), []);
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const path = [...entry.parent, utf8Lossy(Buffer.from(entry.key, "latin1"))];
    const field = `info.file tree/${path.join("/")}`;
    const node = asDict(entry.node, field);
    const leaf = node.get("");
    if (entry.key === "" || (leaf !== undefined && node.size !== 1)) throw new MetainfoError(field, "is not a valid file tree node");
    if (leaf === undefined) {
      pushEntries(node, path);
      continue;
    }
    const length = asIntegerIn(asDict(leaf, `${field}/""`).get("length"), `${field}/"".length`, 0, Number.MAX_SAFE_INTEGER);
    out.push({ path, length });
    if (out.length > maxFiles) throw new MetainfoError("info.file tree", `holds more than ${maxFiles} files`);
  }
  return out;
}

/**
 * A hybrid torrent is two torrents over one payload; a v2 peer and a v1 peer must see the
 * same files, or one info dict could smuggle different content to each swarm. We run the
 * v1 side, so we insist its real files equal the tree's, in order, name and length.
 */
export function checkHybridFileTree(tree: BencodeValue | undefined, layout: FileLayout, maxFiles: number): void {
  if (!isDict(tree)) throw new MetainfoError("info.file tree", "must be a dictionary in a hybrid (meta version 2) torrent");
  const v2 = fileTreeFiles(tree, maxFiles);
  const v1 = layout.files.filter((f) => !f.pad).map((f) => ({ path: layout.layout === "single" ? f.path : f.path.slice(1), length: f.length }));
  if (v1.length !== v2.length) throw new MetainfoError("info.file tree", `lists ${v2.length} files, the v1 'files' list ${v1.length}`);
  for (const [i, a] of v1.entries()) {
    const b = v2[i] as TreeFile;
    if (a.path.join("/") !== b.path.join("/") || a.length !== b.length) {
      throw new MetainfoError("info.file tree", `file ${i} is "${b.path.join("/")}" (${b.length} bytes), the v1 list says "${a.path.join("/")}" (${a.length} bytes)`);
    }
  }
}
