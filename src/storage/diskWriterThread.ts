/**
 * The disk writer's thread (see actors/io/diskWriter.ts for why it exists). It runs as
 * compiled JS only, like the hash worker (dist/src/storage/diskWriterThread.js).
 *
 * Guarantees:
 * - Jobs run one at a time, in the order they were posted: a later write to the same bytes
 *   lands after an earlier one.
 * - A job opens its path write-only (never creating it: the file-IO worker made it and
 *   sized it; a missing file is an error the worker crashes on), writes every byte in calls
 *   of at most WRITE_CALL bytes, and closes the descriptor before it answers. No descriptor
 *   outlives a job, so nothing here can write through a number some other open reused.
 * - The answer is posted only after every write call returned: "written" means in the page
 *   cache, exactly as a returned pwrite.
 * - Every loop is bounded: each call moves at least one byte or the job fails.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { DISK_WRITE_CALL, type DiskWriteAnswer, type DiskWriteJob } from "./diskWriterProtocol.js";

function writeJob(job: DiskWriteJob): void {
  const bytes = new Uint8Array(job.memory, job.offset, job.length);
  const fd = openSync(job.path, constants.O_WRONLY);
  try {
    let done = 0;
    while (done < job.length) {
      const n = writeSync(fd, bytes, done, Math.min(DISK_WRITE_CALL, job.length - done), job.position + done);
      if (n <= 0) throw Object.assign(new Error(`${job.path}: a write at ${job.position + done} made no progress`), { code: "ENOPROGRESS" });
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

function errorFields(error: unknown): { message: string; code?: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? { message: error.message, code } : { message: error.message };
  }
  return { message: String(error) };
}

const port = parentPort;
if (port === null) throw new Error("diskWriterThread runs as a worker thread only");
port.on("message", (job: DiskWriteJob) => {
  let answer: DiskWriteAnswer;
  try {
    writeJob(job);
    answer = { id: job.id, kind: "written" };
  } catch (error) {
    // Carried back as data: the file-IO worker that asked is the one that crashes on it.
    answer = { id: job.id, kind: "failed", ...errorFields(error) };
  }
  port.postMessage(answer);
});
