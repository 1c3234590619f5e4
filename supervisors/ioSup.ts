/**
 * io_sup: one file_io worker per file of a torrent that holds bytes (etorrent's io_sup).
 * Pad files (BEP 47) get none: their bytes are zeros that never touch the disk. Zero-length
 * files get none either: the "empty_files" child creates them at start, then returns
 * ignore (OTP's idiom for start-up work with no process), temporary so it is forgotten.
 */
import type { Metainfo } from "../src/protocol/types.js";
import { nodeFdBudget } from "../actors/io/fdBudget.js";
import { resolveDataFiles, type DataLocation } from "../src/storage/dataPath.js";
import { zeroLengthFiles } from "../src/storage/layout.js";
import { currentRuntime, supervisorSpec, type ChildSpec, type SupervisorSpec } from "../src/runtime/index.js";
import { startFileIo, type FileIoEnv } from "../actors/fileIo.js";
import { createEmptyFiles } from "../actors/io/emptyFiles.js";
import { nodeFileSystem } from "../actors/io/fileSystem.js";

/** `root` is a download directory (`get -o DIR`), or where the payload already is (`seed <path>`). */
export function ioSup(meta: Metainfo, root: string | DataLocation, infoHashHex: string = meta.infoHashHex, env: FileIoEnv = {}): SupervisorSpec {
  const location: DataLocation = typeof root === "string" ? { kind: "downloadDir", dir: root } : root;
  const paths = resolveDataFiles(meta, location);
  const empty = zeroLengthFiles(meta).map((i) => paths[i] as string);
  const children: ChildSpec[] = [];
  if (empty.length > 0) {
    children.push({
      id: "empty_files",
      restart: "temporary",
      // Runs in io_sup's turn, so currentRuntime() is io_sup's node.
      start: () => {
        const budget = env.budget ?? nodeFdBudget(currentRuntime());
        return createEmptyFiles(empty, budget, env.fs ?? nodeFileSystem).then(() => "ignore" as const);
      },
    });
  }
  meta.files.forEach((file, fileIndex) => {
    if (file.pad || file.length === 0) return;
    children.push({
      id: `file_io/${fileIndex}`,
      restart: "permanent",
      // Room for terminate to wait for writes already handed to the OS and close the file.
      shutdown: 5000,
      start: () => startFileIo({ infoHashHex, fileIndex, path: paths[fileIndex] as string, length: file.length, env }),
    });
  });
  return supervisorSpec({
    name: "io_sup",
    strategy: "one_for_one",
    // A disk hiccup or a chaos kill costs one restart and a retried write; ten restarts in
    // ten seconds across the torrent's files mean the disk or the directory is gone, and
    // restarting forever would only pile verified pieces up in memory: escalate instead,
    // so torrent_sup stops this torrent (and only this one).
    intensity: 10,
    period: 10_000,
    children,
  });
}
