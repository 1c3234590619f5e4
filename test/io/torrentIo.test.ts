import { access, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fileIoName } from "../../actors/fileIo.js";
import { IoRetriesExhaustedError } from "../../actors/io/errors.js";
import { FdBudget } from "../../actors/io/fdBudget.js";
import type { RetryEvent } from "../../actors/io/retry.js";
import { TorrentIo } from "../../actors/io/torrentIo.js";
import { ioSup } from "../../supervisors/ioSup.js";
import { Reason, startSupervisor, type Pid, type RuntimeEvent } from "../../src/runtime/index.js";
import { metainfoOf } from "../storage/fixtures.js";
import { deferred, harness, type Harness } from "../runtime/harness.js";
import { clientActor, closeAll, payloadFor, RecordingFs, tempRoot, torrentOf, type FileSpec } from "./helpers.js";

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const remove of cleanup) await remove();
  cleanup = [];
});

async function world(files: readonly FileSpec[], pieceLength: number, budgetLimit = 8) {
  const h = harness();
  const root = await tempRoot();
  const fs = new RecordingFs();
  cleanup.push(() => closeAll(h, fs), root.remove);
  const payload = payloadFor(files);
  const meta = torrentOf(files, pieceLength, payload);
  const budget = new FdBudget(budgetLimit);
  const sup = await startSupervisor(ioSup(meta, root.dir, meta.infoHashHex, { fs, budget }), { runtime: h.rt });
  const pathOf = (i: number): string => join(root.dir, ...(meta.files[i]?.path ?? []));
  const piece = (p: number): Buffer => payload.subarray(p * pieceLength, Math.min(payload.length, (p + 1) * pieceLength));
  return { h, root: root.dir, payload, meta, fs, budget, sup, pathOf, piece, run: clientActor(h.rt) };
}

/** The next runtime event matching predicate. */
function nextEvent(h: Harness, predicate: (e: RuntimeEvent) => boolean): Promise<RuntimeEvent> {
  return new Promise((resolve) => {
    const off = h.rt.subscribe((event) => {
      if (!predicate(event)) return;
      off();
      resolve(event);
    });
  });
}

const MIXED: FileSpec[] = [
  { path: ["payload", "a.bin"], length: 1000 },
  { path: ["payload", "empty.txt"], length: 0 },
  { path: ["payload", ".pad", "24"], length: 24, pad: true },
  { path: ["payload", "sub", "deep", "c.bin"], length: 5000 },
  { path: ["payload", "d.bin"], length: 2100 },
];

describe("io_sup + TorrentIo: a multi-file torrent", () => {
  it("starts a worker per data file only; creates the zero-length file and the directories, never the pad", async () => {
    const { h, meta, pathOf, sup } = await world(MIXED, 1024);
    expect(h.rt.match(["file_io", meta.infoHashHex, "*"]).length).toBe(3);
    for (const i of [0, 3, 4]) expect(h.rt.whereis(fileIoName(meta.infoHashHex, i))).toBeDefined();
    expect((await stat(pathOf(1))).size).toBe(0);
    expect((await stat(pathOf(3))).size).toBe(5000);
    await expect(access(pathOf(2))).rejects.toThrow(/ENOENT/);
    const node = h.rt.snapshot().find((n) => n.pid === sup.toString());
    expect(node?.behaviour).toBe("io_sup");
    expect(node?.children.map((c) => c.behaviour)).toEqual(["file_io", "file_io", "file_io"]);
  });

  it("writes every piece across file boundaries and reads blocks back, pad bytes as zeros", async () => {
    const { meta, payload, pathOf, piece, run } = await world(MIXED, 1024);
    const io = new TorrentIo(meta, meta.infoHashHex);
    await run((ctx) => Promise.all(Array.from({ length: meta.pieceCount }, (_, p) => io.writePiece(ctx, p, piece(p)))));
    expect(await readFile(pathOf(0))).toEqual(payload.subarray(0, 1000));
    expect(await readFile(pathOf(3))).toEqual(payload.subarray(1024, 6024));
    expect(await readFile(pathOf(4))).toEqual(payload.subarray(6024, 8124));

    const blocks: [number, number, number][] = [
      [0, 900, 124], // end of a.bin + the pad
      [0, 0, 1024],
      [5, 800, 200], // end of c.bin + start of d.bin
      [7, 0, 956], // the short last piece
      [3, 10, 0],
    ];
    for (const [p, begin, length] of blocks) {
      const block = await run((ctx) => io.readBlock(ctx, p, begin, length));
      expect(block).toEqual(payload.subarray(p * 1024 + begin, p * 1024 + begin + length));
      // Into a caller's buffer (the upload read-ahead's reused windows): the same bytes, in
      // that very buffer, and zeros over the pad even where the buffer held something else.
      const into = Buffer.alloc(length, 0xee);
      const read = await run((ctx) => io.readBlock(ctx, p, begin, length, into));
      expect(read.buffer).toBe(into.buffer);
      expect(into).toEqual(payload.subarray(p * 1024 + begin, p * 1024 + begin + length));
    }
    expect((await run((ctx) => io.readBlock(ctx, 0, 1000, 24))).equals(Buffer.alloc(24))).toBe(true);
    await expect(run((ctx) => io.readBlock(ctx, 0, 0, 100, Buffer.alloc(99)))).rejects.toThrow(RangeError);
  });

  it("checks its arguments before any call", async () => {
    const { h, meta, piece } = await world(MIXED, 1024);
    const io = new TorrentIo(meta, meta.infoHashHex);
    await expect(io.writePiece(h.rt, 0, Buffer.alloc(10))).rejects.toThrow(RangeError);
    await expect(io.writePiece(h.rt, 8, piece(0))).rejects.toThrow(RangeError);
    await expect(io.readBlock(h.rt, 7, 900, 100)).rejects.toThrow(RangeError);
  });

  it("a write in the middle of a big file leaves the rest of it sparse", async () => {
    const h = harness();
    const root = await tempRoot();
    const fs = new RecordingFs();
    cleanup.push(() => closeAll(h, fs), root.remove);
    const size = 64 * 1024 * 1024;
    const pieceLength = 1024 * 1024;
    const meta = metainfoOf({ pieceLength, pieceCount: 64, length: size, files: [{ path: ["big.iso"], length: size, offset: 0, pad: false }] }, Buffer.alloc(64 * 20));
    await startSupervisor(ioSup(meta, root.dir, meta.infoHashHex, { fs }), { runtime: h.rt });
    const data = payloadFor([{ path: ["x"], length: pieceLength }], 7);
    await new TorrentIo(meta, meta.infoHashHex).writePiece(h.rt, 40, data);
    const info = await stat(join(root.dir, "big.iso"));
    expect(info.size).toBe(size);
    expect(info.blocks * 512).toBeLessThan(4 * pieceLength);
    const onDisk = await readFile(join(root.dir, "big.iso"));
    expect(onDisk.subarray(40 * pieceLength, 41 * pieceLength).equals(data)).toBe(true);
    expect(onDisk.subarray(0, 40 * pieceLength).every((b) => b === 0)).toBe(true);
  });

  it("shutting io_sup down closes every handle and returns every fd slot", async () => {
    const { h, sup, fs, budget } = await world(MIXED, 1024);
    expect(fs.openNow).toBe(3);
    expect((await h.rt.stop(sup, Reason.shutdown())).kind).toBe("shutdown");
    await fs.until(() => fs.openNow === 0);
    await h.settle();
    expect(budget.inUse).toBe(0);
  });
});

describe("a file-IO worker killed mid-write", () => {
  const FILES: FileSpec[] = [
    { path: ["t", "x.bin"], length: 3000 },
    { path: ["t", "y.bin"], length: 3000 },
  ];

  it("is restarted by io_sup, reopens its file, and the facade's retry lands the piece", async () => {
    const { h, meta, fs, pathOf, piece, payload, run } = await world(FILES, 2048);
    const ih = meta.infoHashHex;
    const retried = deferred<RetryEvent>();
    const io = new TorrentIo(meta, ih, { onRetry: (e) => retried.resolve(e) });
    const hold = fs.holdWrites(pathOf(1));
    // The interrupted write will fail when it resumes: only the retry can put the bytes there.
    fs.failNextWrite(pathOf(1), Object.assign(new Error("EBADF"), { code: "EBADF" }));
    const old = h.rt.whereis(fileIoName(ih, 1)) as Pid;
    const restarted = nextEvent(h, (e) => e.type === "restarted");

    let written = false;
    const write = run((ctx) => io.writePiece(ctx, 1, piece(1))).then(() => (written = true));
    await hold.entered; // y.bin's span is in the worker's write
    h.rt.exit(old, Reason.kill);
    expect(await retried.promise).toMatchObject({ attempt: 2, cause: "killed", delayMs: 50 });
    await h.advance(50); // the backoff, on the runtime's clock: the retry reaches the new worker

    // The old handle's close waits for its write in flight, and the successor opens only
    // after that close: the two never write the same bytes at once.
    expect(h.rt.whereis(fileIoName(ih, 1))).not.toBe(old);
    expect(fs.closed(pathOf(1))).toBe(0);
    expect(fs.opened(pathOf(1))).toBe(1);
    expect(written).toBe(false);

    hold.release();
    await write;
    expect(await restarted).toMatchObject({ childId: "file_io/1", reason: Reason.killed });
    expect(fs.closed(pathOf(1))).toBe(1);
    expect(fs.opened(pathOf(1))).toBe(2);
    expect((await readFile(pathOf(1))).subarray(0, 1096)).toEqual(payload.subarray(3000, 4096));
    expect((await readFile(pathOf(0))).subarray(2048)).toEqual(payload.subarray(2048, 3000));
  });

  it("a read into a caller's buffer that had to be retried resolves as a copy: the abandoned read may still land in that buffer", async () => {
    const { h, meta, fs, pathOf, payload, piece, run } = await world(FILES, 2048);
    const ih = meta.infoHashHex;
    const retried = deferred<RetryEvent>();
    const io = new TorrentIo(meta, ih, { onRetry: (e) => retried.resolve(e) });
    await run((ctx) => Promise.all(Array.from({ length: meta.pieceCount }, (_, p) => io.writePiece(ctx, p, piece(p)))));
    const hold = fs.holdRead(pathOf(1));
    const into = Buffer.alloc(1000);
    const read = run((ctx) => io.readBlock(ctx, 1, 1000, 1000, into)); // payload [3048, 4048): y.bin [48, 1048)
    await hold.entered;
    h.rt.exit(h.rt.whereis(fileIoName(ih, 1)) as Pid, Reason.kill);
    await retried.promise;
    await h.advance(50); // the backoff: the retry reaches the new worker
    const block = await read;
    expect(block.buffer).not.toBe(into.buffer);
    expect(block).toEqual(payload.subarray(3048, 4048));
    hold.release(); // the abandoned read goes on, into `into` only
    await h.settle();
    expect(block).toEqual(payload.subarray(3048, 4048));
  });

  it("io_sup escalates when workers keep dying: 10 restarts in 10 s, then it exits shutdown", async () => {
    const { h, meta, sup } = await world(FILES, 2048);
    const name = fileIoName(meta.infoHashHex, 0);
    const supExit = h.rt.awaitExit(sup);
    for (let i = 0; i < 10; i++) {
      const restarted = nextEvent(h, (e) => e.type === "restarted");
      h.rt.exit(h.rt.whereis(name) as Pid, Reason.kill);
      await restarted;
    }
    const escalated = nextEvent(h, (e) => e.type === "escalated");
    h.rt.exit(h.rt.whereis(name) as Pid, Reason.kill);
    expect(await escalated).toMatchObject({ cause: "reached_max_restart_intensity" });
    expect((await supExit).kind).toBe("shutdown");
  });

  it("with no worker at all, gives up after its attempts with IoRetriesExhaustedError", async () => {
    const h = harness();
    const meta = torrentOf(FILES, 2048, payloadFor(FILES));
    const io = new TorrentIo(meta, meta.infoHashHex, { retry: { attempts: 3, firstDelayMs: 10, stepMs: 10, maxDelayMs: 100 } });
    const write = io.writePiece(h.rt, 0, Buffer.alloc(2048)).catch((e: unknown) => e);
    await h.advance(1000);
    const error = await write;
    expect(error).toBeInstanceOf(IoRetriesExhaustedError);
    expect((error as IoRetriesExhaustedError).attempts).toBe(3);
  });
});

describe("the fd budget across many files", () => {
  it("300 files under a budget of 16: every write and read succeeds, never more than 16 open", async () => {
    const files: FileSpec[] = Array.from({ length: 300 }, (_, i) => ({ path: ["many", `d${i % 7}`, `f${i}.bin`], length: 1024 }));
    const { meta, fs, budget, payload, piece, run, pathOf } = await world(files, 1024, 16);
    expect(fs.openPeak).toBeLessThanOrEqual(16);
    const io = new TorrentIo(meta, meta.infoHashHex);
    await run((ctx) => Promise.all(Array.from({ length: 300 }, (_, p) => io.writePiece(ctx, p, piece(p)))));
    const blocks = await run((ctx) => Promise.all(Array.from({ length: 300 }, (_, p) => io.readBlock(ctx, p, 0, 1024))));
    expect(Buffer.concat(blocks).equals(payload)).toBe(true);
    expect((await readFile(pathOf(299))).equals(piece(299))).toBe(true);
    expect(fs.openPeak).toBeLessThanOrEqual(16);
    expect(budget.highWater).toBe(16);
    expect(fs.openNow).toBeLessThanOrEqual(16);
  });
});
