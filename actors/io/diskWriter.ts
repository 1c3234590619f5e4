/**
 * The node's disk writer: one thread that makes every page-cache write of the node, in
 * 16 KiB calls (src/storage/diskWriterProtocol.ts says why that size). libuv's pool runs
 * one job per call, so small calls through it cost a promise, a thread hand-off and a
 * wake-up each, and its 4 threads writing one file only queue on the file's inode lock
 * (ext4 takes it for every buffered write; the waiters spin). A thread of our own makes
 * a whole piece's calls in one job, one file at a time. Reads do not take that lock and
 * stay on libuv's pool (fileSystem.ts).
 *
 * Guarantees:
 * - `write` resolves after every byte is in the page cache, and rejects with the
 *   thread's error (its `code`, e.g. ENOSPC, kept) otherwise.
 * - Writes run in the order they were asked for, one at a time (the thread's guarantee).
 * - The caller's bytes are not copied when they live in a SharedArrayBuffer; otherwise
 *   they are copied once into one for the job, so the caller may reuse its buffer as soon
 *   as the promise settles either way, and never earlier.
 * - If the thread dies, every write in flight rejects and the next write starts a new
 *   thread: a file-IO worker crashes on the rejection and its restart retries.
 * - The thread keeps the process alive only while writes are in flight.
 */
import { Worker } from "node:worker_threads";
import type { DiskWriteAnswer, DiskWriteJob } from "../../src/storage/diskWriterProtocol.js";
import { storageWorkerFile } from "../../src/storage/workerFile.js";

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class DiskWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "DiskWriteError";
  }
}

export class DiskWriter {
  private worker: Worker | undefined = undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly script: string = storageWorkerFile("diskWriterThread.js")) {}

  /** Writes `data` at `position` of the file at `path` (which must exist). */
  write(path: string, data: Uint8Array, position: number): Promise<void> {
    const { memory, offset } = sharedBytes(data);
    const job: DiskWriteJob = { id: this.nextId++, path, memory, offset, length: data.length, position };
    const worker = this.thread();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(job);
    });
  }

  /** Writes not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stops the thread; writes in flight reject. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lost(worker, new DiskWriteError("the disk writer was closed", undefined));
    await worker.terminate();
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(this.script);
    worker.unref();
    worker.on("message", (answer: DiskWriteAnswer) => this.answered(worker, answer));
    worker.on("error", (error) => this.lost(worker, new DiskWriteError(`the disk writer thread failed: ${error.message}`, undefined)));
    worker.on("exit", (code) => this.lost(worker, new DiskWriteError(`the disk writer thread exited (code ${code})`, undefined)));
    this.worker = worker;
    return worker;
  }

  private answered(worker: Worker, answer: DiskWriteAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (waiting === undefined) return; // the thread was given up on before it answered
    this.pending.delete(answer.id);
    if (this.pending.size === 0) worker.unref();
    switch (answer.kind) {
      case "written":
        waiting.resolve();
        return;
      case "failed":
        waiting.reject(new DiskWriteError(answer.message, answer.code));
        return;
      default: {
        const never: never = answer;
        throw new Error(`unknown disk writer answer ${JSON.stringify(never)}`);
      }
    }
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(error);
  }
}

function sharedBytes(data: Uint8Array): { memory: SharedArrayBuffer; offset: number } {
  if (data.buffer instanceof SharedArrayBuffer) return { memory: data.buffer, offset: data.byteOffset };
  const memory = new SharedArrayBuffer(data.length);
  new Uint8Array(memory).set(data);
  return { memory, offset: 0 };
}

let nodeWriter: DiskWriter | undefined;

/** The process's disk writer, started on first use. */
export function nodeDiskWriter(): DiskWriter {
  nodeWriter ??= new DiskWriter();
  return nodeWriter;
}
