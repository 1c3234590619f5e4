/**
 * Replacing a small file so that a crash at any instant leaves either the old content or
 * the new one, never a mix: write a temp file in the same directory, fsync it, rename it
 * over the target (atomic within one file system), fsync the directory so the rename
 * itself is durable. The two steps are exported apart so a test can stop between them,
 * as a crash would.
 *
 * The temp name is fixed (`<target>.tmp`): a temp left by a crash is overwritten by the
 * next save instead of piling up, and readers never look at it.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

export const tempPathOf = (target: string): string => `${target}.tmp`;

/** Steps 1-2: the new content, durable, under the temp name. Returns the temp path. */
export async function writeDurableTemp(target: string, bytes: Uint8Array): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const temp = tempPathOf(target);
  const handle = await open(temp, "w", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Steps 3-4: the temp takes the target's place, and the directory entry is made durable. */
export async function commitTemp(temp: string, target: string): Promise<void> {
  await rename(temp, target);
  const dir = await open(dirname(target), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const temp = await writeDurableTemp(target, bytes);
  try {
    await commitTemp(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
