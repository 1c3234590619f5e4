/**
 * Zero-length files hold no byte of any piece, so no worker owns them; they are created
 * once when io_sup starts (its "empty_files" child), through the fd budget like any open.
 */
import type { FdBudget } from "./fdBudget.js";
import { FileSlot } from "./fileSlot.js";
import type { FileSystem } from "./fileSystem.js";

/** Creates each file (and its directories) if missing; an existing file is left as it is. */
export async function createEmptyFiles(paths: readonly string[], budget: FdBudget, fs: FileSystem): Promise<void> {
  for (const path of paths) {
    // Nobody asks a one-shot slot to yield: it is closed right after the open.
    const slot = new FileSlot(budget, fs, path, 0, () => undefined);
    await slot.open();
    await slot.close();
  }
}
