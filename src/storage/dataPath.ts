/**
 * Where a torrent's files live on disk. Two ways to name the place (CLI.md):
 * - a download directory (`get -o DIR`): file `[name, "a", "b"]` lands at DIR/name/a/b;
 * - the data itself (`verify`/`seed <path>`): the file of a single-file torrent, or the
 *   top directory of a multi-file one, whatever it is called on disk.
 * The parser already rejects dangerous components; the containment check here is a
 * second line of defense (invariant 4: paths from a .torrent never escape the root).
 */
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { FileEntry, Metainfo } from "../protocol/types.js";

export type DataLocation =
  | { readonly kind: "downloadDir"; readonly dir: string }
  | { readonly kind: "dataPath"; readonly path: string };

export class PathEscapeError extends Error {
  constructor(
    readonly filePath: readonly string[],
    readonly root: string,
  ) {
    super(`file path ${JSON.stringify(filePath.join("/"))} resolves outside ${root}`);
    this.name = "PathEscapeError";
  }
}

type PathLayout = Pick<Metainfo, "layout">;

/**
 * The absolute path of `file` when the torrent is downloaded into `root` (`get -o root`).
 * Needs no layout: every FileEntry path already starts with the torrent's name.
 */
export function dataFilePath(file: FileEntry, root: string): string {
  return insideRoot(root, file.path, file.path);
}

/** The absolute path of `file` when `dataPath` is the payload itself (`verify t.torrent <dataPath>`). */
export function payloadFilePath(meta: PathLayout, file: FileEntry, dataPath: string): string {
  switch (meta.layout) {
    case "single":
      return resolve(dataPath);
    case "multi":
      // The first component is the torrent's name; on disk the top directory is dataPath.
      return insideRoot(dataPath, file.path.slice(1), file.path);
    default: {
      const never: never = meta.layout;
      throw new Error(`unknown layout ${String(never)}`);
    }
  }
}

export function resolveDataFile(meta: PathLayout, file: FileEntry, location: DataLocation): string {
  switch (location.kind) {
    case "downloadDir":
      return dataFilePath(file, location.dir);
    case "dataPath":
      return payloadFilePath(meta, file, location.path);
    default: {
      const never: never = location;
      throw new Error(`unknown location ${JSON.stringify(never)}`);
    }
  }
}

/** Every file's absolute path, indexed like `meta.files` (pad files too: nobody opens those). */
export function resolveDataFiles(meta: Pick<Metainfo, "layout" | "files">, location: DataLocation): string[] {
  return meta.files.map((file) => resolveDataFile(meta, file, location));
}

function insideRoot(root: string, components: readonly string[], original: readonly string[]): string {
  const absoluteRoot = resolve(root);
  const full = resolve(join(absoluteRoot, ...components));
  const rel = relative(absoluteRoot, full);
  const escapes = rel === "" || isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`);
  if (escapes || components.length === 0) throw new PathEscapeError(original, absoluteRoot);
  return full;
}
