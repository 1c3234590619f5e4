/**
 * File names from a .torrent are attacker-controlled. This module decides, per path
 * component, whether it can be used as is; the guarantee is invariant 4 of the design:
 * joined under a download directory, an accepted path stays inside it.
 *
 * The rule (reject unless harmless; libtorrent sanitizes instead, e.g. drops ".." and
 * maps "." to "_", but a rewritten name silently aliases another file, and a torrent
 * carrying such names is broken or hostile, so we refuse it with a reason):
 * - rejected: an empty component; "." and ".."; any "/" or "\" (a separator on some
 *   system, so "\..\" can never climb); NUL and control characters (C0, DEL and C1: they
 *   also end or forge log lines and terminal output); a Windows drive prefix such as
 *   "C:" at the start of a component (absolute on Windows; a ":" elsewhere is fine and
 *   common: "Movie: Part 2"); a component over 255 UTF-8 bytes (NAME_MAX); a whole path
 *   over 4096 UTF-8 bytes (PATH_MAX) or with no component at all.
 *   An absolute path cannot arise otherwise: components are joined by us, never split.
 * - sanitized: bytes that are not valid UTF-8 become U+FFFD. That can only alias two
 *   names, never climb (U+FFFD is no separator or dot); the metainfo parser rejects the
 *   duplicates this may create.
 * - harmless, kept: look-alikes such as fullwidth dots "．．" (U+FF0E), "∕" (U+2215) or
 *   right-to-left overrides. No file system reads them as dots or separators; they can
 *   only mislead a human reading the name.
 * Not handled, because this runtime writes on POSIX file systems: Windows reserved names
 * (CON, NUL), trailing dots/spaces, and case or Unicode-normalization collisions on
 * case-insensitive or normalizing file systems.
 */
import { resolve, sep } from "node:path";

export const MAX_COMPONENT_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

export type ComponentVerdict = { readonly kind: "accepted"; readonly name: string } | { readonly kind: "rejected"; readonly reason: string };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** UTF-8 text of `bytes`, or undefined when they are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** UTF-8 text of `bytes`, invalid sequences replaced by U+FFFD. */
export function utf8Lossy(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes);
}

// C0 controls (NUL included), DEL, C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const DRIVE_PREFIX = /^[A-Za-z]:/;

/** Judges one path component given as text (already decoded). */
export function checkComponent(name: string): ComponentVerdict {
  if (name === "") return { kind: "rejected", reason: "empty path component" };
  if (name === "." || name === "..") return { kind: "rejected", reason: `path component "${name}" is not allowed` };
  if (name.includes("/") || name.includes("\\")) return { kind: "rejected", reason: `path component ${JSON.stringify(name)} contains a path separator` };
  const control = CONTROL.exec(name);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, "0");
    return { kind: "rejected", reason: `path component ${JSON.stringify(name)} contains the control character U+${code}` };
  }
  if (DRIVE_PREFIX.test(name)) return { kind: "rejected", reason: `path component ${JSON.stringify(name)} starts with a drive letter` };
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_COMPONENT_BYTES) return { kind: "rejected", reason: `path component is ${bytes} bytes long (at most ${MAX_COMPONENT_BYTES})` };
  return { kind: "accepted", name };
}

/** Judges one component as raw bytes from a torrent: decodes it (lossy, see the module comment), then checks it. */
export function checkComponentBytes(raw: Uint8Array): ComponentVerdict {
  return checkComponent(utf8Lossy(raw));
}

export type PathVerdict =
  | { readonly kind: "accepted"; readonly path: readonly string[] }
  | { readonly kind: "rejected"; readonly index: number; readonly reason: string };

/** Judges a whole relative path; `index` of a rejection is the offending component (or -1 for the path as a whole). */
export function checkPath(components: readonly string[]): PathVerdict {
  if (components.length === 0) return { kind: "rejected", index: -1, reason: "path has no components" };
  let bytes = 0;
  for (const [index, component] of components.entries()) {
    const verdict = checkComponent(component);
    if (verdict.kind === "rejected") return { kind: "rejected", index, reason: verdict.reason };
    bytes += Buffer.byteLength(component, "utf8") + 1;
  }
  if (bytes - 1 > MAX_PATH_BYTES) return { kind: "rejected", index: -1, reason: `path is ${bytes - 1} bytes long (at most ${MAX_PATH_BYTES})` };
  return { kind: "accepted", path: components };
}

export type PathConflict =
  | { readonly kind: "duplicate"; readonly index: number; readonly first: number; readonly path: string }
  | { readonly kind: "fileIsDirectory"; readonly index: number; readonly other: number; readonly path: string };

interface TrieNode {
  /** The entry whose path ends here, if any. */
  file: number | undefined;
  /** The first entry that passes through here as a directory. */
  dirOwner: number | undefined;
  readonly children: Map<string, TrieNode>;
}

const trieNode = (): TrieNode => ({ file: undefined, dirOwner: undefined, children: new Map() });

/**
 * Finds two paths that cannot both exist on disk: the same path twice, or a path that
 * is a file for one entry and a directory for another ("a" and "a/b"). A trie of
 * components keeps this linear in the total number of components.
 */
export function findPathConflict(paths: readonly (readonly string[])[]): PathConflict | undefined {
  const root = trieNode();
  for (const [index, components] of paths.entries()) {
    let node = root;
    for (const [depth, component] of components.entries()) {
      let child = node.children.get(component);
      if (child === undefined) {
        child = trieNode();
        node.children.set(component, child);
      }
      node = child;
      const isLast = depth === components.length - 1;
      const here = (): string => components.slice(0, depth + 1).join("/");
      if (node.file !== undefined) {
        return isLast ? { kind: "duplicate", index, first: node.file, path: here() } : { kind: "fileIsDirectory", index, other: node.file, path: here() };
      }
      if (isLast && node.dirOwner !== undefined) return { kind: "fileIsDirectory", index, other: node.dirOwner, path: here() };
      if (isLast) node.file = index;
      else node.dirOwner ??= index;
    }
  }
  return undefined;
}

/**
 * The absolute path of `components` under `root`, re-checked: throws if a component is
 * not acceptable or the result is not strictly inside `root`. For storage, as a second
 * line of defence behind the metainfo parser.
 */
export function joinInside(root: string, components: readonly string[]): string {
  const verdict = checkPath(components);
  if (verdict.kind === "rejected") throw new RangeError(`refusing path ${JSON.stringify(components)}: ${verdict.reason}`);
  const base = resolve(root);
  const full = resolve(base, ...components);
  const prefix = base.endsWith(sep) ? base : base + sep;
  if (!full.startsWith(prefix)) throw new RangeError(`refusing path ${JSON.stringify(components)}: resolves outside ${base}`);
  return full;
}
