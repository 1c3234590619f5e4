/**
 * `swarmsup verify <file.torrent> <path>`: checks the data at <path> against the
 * torrent's hashes. Exit codes, like `sha1sum -c`: 0 when every piece is valid; 1 when
 * any piece is invalid or missing (the summary is still printed, stdout, and one line
 * on stderr says how many failed) or the data path does not exist; 2 for bad usage or a
 * .torrent that cannot be read or parsed.
 */
import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import { BencodeError, MetainfoError } from "../protocol/errors.js";
import { parseMetainfo } from "../protocol/metainfo.js";
import type { Metainfo } from "../protocol/types.js";
import { resolveDataFiles } from "../storage/dataPath.js";
import { oneShotHasher } from "../storage/hashPool.js";
import { PayloadReadError } from "../storage/pieceSource.js";
import { verifyPayload, type VerifyResult } from "../storage/verify.js";
import { jobFailed, usageError } from "./errors.js";
import { startProgress } from "./progress.js";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("check data against a .torrent's piece hashes (exit 1 if any piece is invalid or missing)")
    .argument("<torrent>", "the .torrent file")
    .argument("<path>", "the data: the file of a single-file torrent, the top directory of a multi-file one")
    .option("--json", "print one JSON summary object on stdout, no progress bar")
    .action(async (torrentFile: string, dataPath: string, options: Record<string, unknown>) => {
      const json = options.json === true;
      const meta = await loadTorrent(torrentFile);
      await checkDataPath(meta, dataPath);
      const result = await runVerify(meta, dataPath, json);
      report(result, json);
      const failed = result.invalid.length + result.missing.length;
      if (failed > 0) {
        throw jobFailed(
          `verify: ${failed} of ${result.pieces} pieces failed (${result.invalid.length} invalid, ${result.missing.length} missing)`,
        );
      }
    });
}

/** Reads and parses the .torrent; anything wrong with it is a bad input file (exit 2). */
export async function loadTorrent(file: string): Promise<Metainfo> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw usageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parseMetainfo(bytes);
  } catch (err) {
    if (err instanceof MetainfoError || err instanceof BencodeError) throw usageError(`${file}: ${err.message}`);
    throw err;
  }
}

async function checkDataPath(meta: Metainfo, dataPath: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dataPath)).isDirectory();
  } catch (err) {
    throw jobFailed(`verify: ${dataPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (meta.layout === "single" && isDirectory) {
    throw jobFailed(`verify: ${dataPath} is a directory, but "${meta.name}" is a single-file torrent: give the file itself`);
  }
  if (meta.layout === "multi" && !isDirectory) {
    throw jobFailed(`verify: ${dataPath} is not a directory, but "${meta.name}" is a multi-file torrent: give its top directory`);
  }
}

async function runVerify(meta: Metainfo, dataPath: string, json: boolean): Promise<VerifyResult> {
  const hasher = oneShotHasher(meta.length);
  const progress = startProgress({ label: "verifying", json });
  try {
    return await verifyPayload({
      meta,
      paths: resolveDataFiles(meta, { kind: "dataPath", path: dataPath }),
      hasher,
      onProgress: (done, total) => progress.update(done, total),
    });
  } catch (err) {
    if (err instanceof PayloadReadError) throw jobFailed(`verify: ${err.message}`);
    throw err;
  } finally {
    progress.stop();
    await hasher.close();
  }
}

function report(result: VerifyResult, json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ pieces: result.pieces, valid: result.valid, invalid: result.invalid, missing: result.missing }));
    return;
  }
  console.log(`${result.pieces} pieces: ${result.valid} valid, ${result.invalid.length} invalid, ${result.missing.length} missing`);
  if (result.invalid.length > 0) console.log(`invalid: ${abbreviated(result.invalid)}`);
  if (result.missing.length > 0) console.log(`missing: ${abbreviated(result.missing)}`);
}

/** The first indices of a long list, so a terminal is not flooded. */
function abbreviated(indices: readonly number[], shown = 20): string {
  const head = indices.slice(0, shown).join(", ");
  return indices.length > shown ? `${head}, ... (${indices.length - shown} more)` : head;
}
