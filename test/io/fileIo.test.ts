import { readFile, stat, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_IDLE_CLOSE_MS, fileIoName, readAt, startFileIo, writeAt } from "../../actors/fileIo.js";
import { FileIoError } from "../../actors/io/errors.js";
import { FdBudget } from "../../actors/io/fdBudget.js";
import { CallError, Reason, type Pid } from "../../src/runtime/index.js";
import { harness } from "../runtime/harness.js";
import { closeAll, RecordingFs, tempRoot } from "./helpers.js";

const IH = "ab".repeat(20);
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const remove of cleanup) await remove();
  cleanup = [];
});

async function setup(length: number, relPath: readonly string[] = ["t", "dir", "file.bin"], budgetLimit = 8) {
  const h = harness();
  const root = await tempRoot();
  const fs = new RecordingFs();
  cleanup.push(() => closeAll(h, fs), root.remove);
  const budget = new FdBudget(budgetLimit);
  const path = join(root.dir, ...relPath);
  const env = { fs, budget, idleCloseMs: 1000, maxInFlight: 4 };
  const start = async (fileIndex = 0) =>
    (await startFileIo({ infoHashHex: IH, fileIndex, path, length, env }, { runtime: h.rt, link: false })) as Pid;
  return { h, fs, budget, path, root: root.dir, env, start };
}

describe("file_io worker: the file on disk", () => {
  it("creates parent directories and the file sparse at its full length, registered by name", async () => {
    const big = 256 * 1024 * 1024;
    const { h, path, start } = await setup(big);
    const pid = await start(3);
    expect(h.rt.whereis(fileIoName(IH, 3))).toBe(pid);
    const info = await stat(path);
    expect(info.size).toBe(big);
    expect(info.blocks * 512).toBeLessThan(1024 * 1024); // sparse: (almost) nothing allocated
  });

  it("extends a shorter file without touching its bytes, and never truncates a longer one", async () => {
    const { path, root, start } = await setup(10, ["short.bin"]);
    await writeFile(path, "abc");
    await start();
    expect(await readFile(path)).toEqual(Buffer.concat([Buffer.from("abc"), Buffer.alloc(7)]));

    const longer = await setup(4, ["long.bin"]);
    await mkdir(root, { recursive: true });
    await writeFile(longer.path, "0123456789");
    await longer.start();
    expect((await readFile(longer.path)).toString()).toBe("0123456789");
  });

  it("writes and reads at offsets; resolves after the bytes are in the file", async () => {
    const { h, path, start } = await setup(64);
    const pid = await start();
    await writeAt(h.rt, pid, 10, Buffer.from("hello"));
    expect((await readFile(path)).subarray(10, 15).toString()).toBe("hello");
    expect((await readAt(h.rt, pid, 8, 9)).toString("latin1")).toBe("\0\0hello\0\0");
    await writeAt(h.rt, fileIoName(IH, 0), 60, Buffer.from("tail"));
    expect((await readAt(h.rt, fileIoName(IH, 0), 60, 4)).toString()).toBe("tail");
  });
});

describe("file_io worker: bad requests are refused, never fatal", () => {
  const bad: [string, unknown][] = [
    ["past the end", { op: "write", offset: 62, data: Buffer.from("xyz") }],
    ["a read past the end", { op: "read", offset: 0, length: 65 }],
    ["a negative offset", { op: "read", offset: -1, length: 1 }],
    ["a fractional length", { op: "read", offset: 0, length: 1.5 }],
    ["data that is not a Buffer", { op: "write", offset: 0, data: "text" }],
    ["an unknown op", { op: "truncate", offset: 0 }],
    ["not an object", 42],
  ];
  for (const [label, request] of bad) {
    it(`${label}: a FileIoError reply, and the same worker keeps serving`, async () => {
      const { h, start } = await setup(64);
      const pid = await start();
      const answer = await h.rt.call<{ kind: string; error?: unknown }>(pid, request);
      expect(answer.kind).toBe("refused");
      expect(answer.error).toBeInstanceOf(FileIoError);
      expect(h.rt.isAlive(pid)).toBe(true);
      await writeAt(h.rt, pid, 0, Buffer.from("ok"));
    });
  }

  it("writeAt/readAt throw the FileIoError with the file and the range", async () => {
    const { h, start } = await setup(64);
    const pid = await start(5);
    const error = await writeAt(h.rt, pid, 63, Buffer.from("ab")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileIoError);
    expect((error as FileIoError).fileIndex).toBe(5);
    expect((error as FileIoError).refusal).toEqual({ kind: "outOfRange", offset: 63, length: 2, fileLength: 64 });
  });

  it("empty transfers are answered without touching the disk", async () => {
    const { h, fs, path, start } = await setup(64);
    const pid = await start();
    await writeAt(h.rt, pid, 64, Buffer.alloc(0));
    expect((await readAt(h.rt, pid, 64, 0)).length).toBe(0);
    expect(fs.writesPeak).toBe(0);
    expect(fs.opened(path)).toBe(1);
  });
});

describe("file_io worker: its handle", () => {
  const exits: [string, (h: ReturnType<typeof harness>, pid: Pid, fs: RecordingFs, path: string) => Promise<void>][] = [
    ["kill", async (h, pid) => h.rt.exit(pid, Reason.kill)],
    ["shutdown (terminate)", async (h, pid) => void (await h.rt.stop(pid, Reason.shutdown()))],
    [
      "a crash on a disk error",
      async (h, pid, fs, path) => {
        fs.failNextWrite(path, Object.assign(new Error("EIO: i/o error"), { code: "EIO" }));
        const error = await writeAt(h.rt, pid, 0, Buffer.from("x")).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CallError);
        expect((error as CallError).reason.kind).toBe("error");
      },
    ],
  ];
  for (const [label, exit] of exits) {
    it(`is closed and its fd slot returned when the worker exits: ${label}`, async () => {
      const { h, fs, budget, path, start } = await setup(64);
      const pid = await start();
      expect(fs.openNow).toBe(1);
      expect(budget.inUse).toBe(1);
      const exited = h.rt.awaitExit(pid);
      await exit(h, pid, fs, path);
      await exited;
      await fs.until(() => fs.closed(path) === 1);
      await h.settle(); // the slot goes back to the budget in the close's continuation
      expect(fs.openNow).toBe(0);
      expect(budget.inUse).toBe(0);
    });
  }

  it("an open still in flight when the worker is killed is closed as it returns, and its fd slot returned", async () => {
    const { h, fs, budget, path, start } = await setup(64);
    const pid = await start();
    await writeAt(h.rt, pid, 0, Buffer.from("a"));
    await h.advance(1000); // idle: the handle closes, the next request reopens it
    await fs.until(() => fs.closed(path) === 1);
    const held = fs.holdOpen(path);
    const read = readAt(h.rt, pid, 0, 1).catch((e: unknown) => e);
    await held.entered;
    const exited = h.rt.awaitExit(pid);
    h.rt.exit(pid, Reason.kill);
    await exited;
    expect(await read).toBeInstanceOf(CallError);
    expect(budget.inUse).toBe(1); // the slot covers the descriptor being opened
    held.release();
    await fs.until(() => fs.closed(path) === 2);
    await h.settle();
    expect(fs.opened(path)).toBe(2);
    expect(fs.openNow).toBe(0);
    expect(budget.inUse).toBe(0);
  });

  const initEnds: [string, (h: ReturnType<typeof harness>, pid: Pid) => Promise<void>][] = [
    ["killed", async (h, pid) => h.rt.exit(pid, Reason.kill)],
    ["past its start timeout", (h) => h.advance(30_000)],
  ];
  for (const [label, end] of initEnds) {
    it(`a worker whose first open is in flight when it is ${label}: the handle is closed as the open returns`, async () => {
      const { h, fs, budget, path, start } = await setup(64);
      const held = fs.holdOpen(path);
      const started = start().catch((e: unknown) => e);
      await held.entered;
      const pid = h.rt.whereis(fileIoName(IH, 0)) as Pid;
      const exited = h.rt.awaitExit(pid);
      await end(h, pid);
      await exited;
      expect(await started).toBeInstanceOf(Error);
      held.release();
      await fs.until(() => fs.closed(path) === 1);
      await h.settle();
      expect(fs.openNow).toBe(0);
      expect(budget.inUse).toBe(0);
    });
  }

  it("a worker killed while waiting for an fd slot withdraws its request and never opens", async () => {
    const { h, fs, budget, path, root, env, start } = await setup(64, ["busy.bin"], 1);
    const busy = await start();
    const hold = fs.holdWrites(path);
    const write = writeAt(h.rt, busy, 0, Buffer.from("x")); // busy: it cannot be asked to yield
    await hold.entered;
    const otherPath = join(root, "waiting.bin");
    const waiting = startFileIo({ infoHashHex: IH, fileIndex: 1, path: otherPath, length: 64, env }, { runtime: h.rt, link: false }).catch((e: unknown) => e);
    await h.settle();
    expect(budget.waiters).toBe(1);
    h.rt.exit(h.rt.whereis(fileIoName(IH, 1)) as Pid, Reason.kill);
    expect(await waiting).toBeInstanceOf(Error);
    expect(budget.waiters).toBe(0);
    hold.release();
    await write;
    expect(fs.opened(otherPath)).toBe(0);
    expect(budget.inUse).toBe(1);
  });

  it("on shutdown, a write already in flight completes and is answered before the close", async () => {
    const { h, fs, path, start } = await setup(64);
    const pid = await start();
    const hold = fs.holdWrites(path);
    const write = writeAt(h.rt, pid, 0, Buffer.from("last words"));
    await hold.entered;
    const stopped = h.rt.stop(pid, Reason.shutdown());
    await h.settle();
    expect(fs.closed(path)).toBe(0); // terminate waits for the write
    hold.release();
    await write;
    expect((await stopped).kind).toBe("shutdown");
    expect((await readFile(path)).subarray(0, 10).toString()).toBe("last words");
    expect(fs.closed(path)).toBe(1);
  });

  it("closes after the idle period on the runtime's clock, and reopens on the next request", async () => {
    const { h, fs, budget, path, start } = await setup(64);
    const pid = await start();
    await writeAt(h.rt, pid, 0, Buffer.from("a"));
    await h.advance(999);
    expect(fs.closed(path)).toBe(0);
    await h.advance(1);
    await fs.until(() => fs.closed(path) === 1);
    await h.settle();
    expect(budget.inUse).toBe(0);
    expect((await readAt(h.rt, pid, 0, 1)).toString()).toBe("a");
    expect(fs.opened(path)).toBe(2);
    expect(DEFAULT_IDLE_CLOSE_MS).toBeGreaterThan(1000);
  });

  it("runs at most maxInFlight operations at once; the rest queue in order", async () => {
    const { h, fs, path, start } = await setup(64);
    const pid = await start();
    const hold = fs.holdWrites(path, 10);
    const writes = Array.from({ length: 10 }, (_, i) => writeAt(h.rt, pid, i, Buffer.from(String(i))));
    await fs.until(() => fs.writesInFlight === 4);
    await h.settle();
    expect(fs.writesInFlight).toBe(4); // six wait in the worker's queue, none in libuv
    hold.release();
    await Promise.all(writes);
    expect(fs.writesPeak).toBe(4);
    expect((await readFile(path)).subarray(0, 10).toString()).toBe("0123456789");
  });
});
