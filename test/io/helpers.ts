/** Real temp files watched through a recording FileSystem, a client actor, and torrent layouts for the IO tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeFileSystem, type FileSystem, type OpenFile } from "../../actors/io/fileSystem.js";
import type { FileEntry, Metainfo } from "../../src/protocol/types.js";
import { Reason, type Ctx, type Runtime } from "../../src/runtime/index.js";
import { metainfoOf, pieceHashesOf } from "../storage/fixtures.js";
import { deferred, type Harness } from "../runtime/harness.js";

export async function tempRoot(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "swarmsup-io-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Ends a test's runtime: kills every process (a file_io worker closes its handle whatever
 * its exit) and waits until the recording fs saw every handle it opened closed. A worker
 * left alive keeps its FileHandle until garbage collection closes it, with a warning and
 * no test to blame; a handle the product leaks makes this wait fail the hook's timeout.
 */
export async function closeAll(h: Harness, fs: RecordingFs): Promise<void> {
  for (const pid of h.rt.pids()) h.rt.exit(pid, Reason.kill);
  await h.settle();
  await fs.until(() => fs.openNow === 0);
}

interface Hold {
  /** Writes still to hold. */
  remaining: number;
  readonly entered: ReturnType<typeof deferred<void>>;
  readonly release: ReturnType<typeof deferred<void>>;
}

/**
 * node:fs/promises, recorded: handles count as open from the open call until their close
 * returned (the conservative reading of "open descriptors"). Writes can be held at their
 * start (before any byte moves) or made to fail. Like FileHandle, a close waits for the
 * handle's writes in flight (held ones included) before closing.
 */
export class RecordingFs implements FileSystem {
  /** Successful opens by path. */
  readonly opens = new Map<string, number>();
  readonly closes = new Map<string, number>();
  openNow = 0;
  openPeak = 0;
  writesInFlight = 0;
  writesPeak = 0;
  private readonly holds = new Map<string, Hold>();
  private readonly openHolds = new Map<string, Hold>();
  private readonly readHolds = new Map<string, Hold>();
  private readonly failures = new Map<string, Error>();
  private readonly watchers: (() => void)[] = [];

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  mkdir(path: string, options: { recursive: true }): Promise<unknown> {
    return this.inner.mkdir(path, options);
  }

  async open(path: string, flags: number, mode: number): Promise<OpenFile> {
    this.openNow++;
    this.openPeak = Math.max(this.openPeak, this.openNow);
    let handle: OpenFile;
    try {
      const hold = this.openHolds.get(path);
      this.openHolds.delete(path);
      if (hold !== undefined) {
        hold.entered.resolve();
        await hold.release.promise;
      }
      handle = await this.inner.open(path, flags, mode);
    } catch (error) {
      this.openNow--;
      this.changed();
      throw error;
    }
    this.bump(this.opens, path);
    this.changed();
    return this.wrap(path, handle);
  }

  /** The next `count` writes to path wait (before touching the file) until release() is called. */
  holdWrites(path: string, count = 1): { entered: Promise<void>; release: () => void } {
    const hold: Hold = { remaining: count, entered: deferred<void>(), release: deferred<void>() };
    this.holds.set(path, hold);
    return { entered: hold.entered.promise, release: () => hold.release.resolve() };
  }

  /** The next read of path waits (before touching the file) until release() is called. */
  holdRead(path: string): { entered: Promise<void>; release: () => void } {
    const hold: Hold = { remaining: 1, entered: deferred<void>(), release: deferred<void>() };
    this.readHolds.set(path, hold);
    return { entered: hold.entered.promise, release: () => hold.release.resolve() };
  }

  /** The next open of path waits (before the descriptor exists) until release() is called. */
  holdOpen(path: string): { entered: Promise<void>; release: () => void } {
    const hold: Hold = { remaining: 1, entered: deferred<void>(), release: deferred<void>() };
    this.openHolds.set(path, hold);
    return { entered: hold.entered.promise, release: () => hold.release.resolve() };
  }

  /** The next write to path rejects with error (as EIO would). */
  failNextWrite(path: string, error: Error): void {
    this.failures.set(path, error);
  }

  opened(path: string): number {
    return this.opens.get(path) ?? 0;
  }

  closed(path: string): number {
    return this.closes.get(path) ?? 0;
  }

  /** Resolves once predicate holds, checked now and after every recorded event (no polling). */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        this.watchers.splice(this.watchers.indexOf(check), 1);
        resolve();
      };
      this.watchers.push(check);
    });
  }

  private wrap(path: string, handle: OpenFile): OpenFile {
    const inFlight = new Set<Promise<unknown>>();
    const track = <T>(work: Promise<T>): Promise<T> => {
      inFlight.add(work);
      void work.then(
        () => inFlight.delete(work),
        () => inFlight.delete(work),
      );
      return work;
    };
    return {
      write: (buffer, offset, length, position) => track(this.write(path, handle, buffer, offset, length, position)),
      read: async (buffer, offset, length, position) => {
        const hold = this.readHolds.get(path);
        this.readHolds.delete(path);
        if (hold !== undefined) {
          hold.entered.resolve();
          await hold.release.promise;
        }
        return handle.read(buffer, offset, length, position);
      },
      stat: () => handle.stat(),
      truncate: (length) => handle.truncate(length),
      close: async () => {
        try {
          await Promise.allSettled([...inFlight]);
          await handle.close();
        } finally {
          this.openNow--;
          this.bump(this.closes, path);
          this.changed();
        }
      },
    };
  }

  private async write(path: string, handle: OpenFile, buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    const hold = this.holds.get(path);
    const failure = this.failures.get(path);
    if (hold !== undefined && --hold.remaining === 0) this.holds.delete(path);
    this.failures.delete(path);
    this.writesInFlight++;
    this.writesPeak = Math.max(this.writesPeak, this.writesInFlight);
    this.changed();
    try {
      if (hold !== undefined) {
        hold.entered.resolve();
        await hold.release.promise;
      }
      if (failure !== undefined) throw failure;
      return await handle.write(buffer, offset, length, position);
    } finally {
      this.writesInFlight--;
      this.changed();
    }
  }

  private bump(map: Map<string, number>, path: string): void {
    map.set(path, (map.get(path) ?? 0) + 1);
  }

  private changed(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

/** An actor that runs IO work as itself (its Ctx), without blocking its mailbox. */
export function clientActor(rt: Runtime): <T>(work: (ctx: Ctx) => Promise<T>) => Promise<T> {
  const pid = rt.spawn((msg, ctx) => {
    const job = msg as { work: (ctx: Ctx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };
    job.work(ctx).then(job.resolve, job.reject);
  }, { behaviour: "io_client" });
  return <T>(work: (ctx: Ctx) => Promise<T>) =>
    new Promise<T>((resolve, reject) => rt.send(pid, { work, resolve, reject }));
}

export interface FileSpec {
  readonly path: readonly string[];
  readonly length: number;
  readonly pad?: boolean;
}

/** A Metainfo over files given by path (nested directories allowed) with the hashes of payload. */
export function torrentOf(files: readonly FileSpec[], pieceLength: number, payload: Buffer): Metainfo {
  let offset = 0;
  const entries: FileEntry[] = files.map((file) => {
    const entry: FileEntry = { path: file.path, length: file.length, offset, pad: file.pad === true };
    offset += file.length;
    return entry;
  });
  if (offset !== payload.length) throw new Error(`payload is ${payload.length} bytes, files ${offset}`);
  const layout = { pieceLength, pieceCount: Math.ceil(offset / pieceLength), length: offset, files: entries };
  return metainfoOf(layout, pieceHashesOf(payload, pieceLength));
}

/** Random bytes where files hold data, zeros where pad files are. */
export function payloadFor(files: readonly FileSpec[], seed = 1): Buffer {
  const total = files.reduce((sum, f) => sum + f.length, 0);
  const payload = Buffer.alloc(total);
  let x = seed >>> 0 || 1;
  let offset = 0;
  for (const file of files) {
    if (file.pad !== true) {
      for (let i = 0; i < file.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        payload[offset + i] = x & 0xff;
      }
    }
    offset += file.length;
  }
  return payload;
}
