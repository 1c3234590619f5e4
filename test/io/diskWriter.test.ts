import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiskWriteError, DiskWriter } from "../../actors/io/diskWriter.js";
import { nodeFileSystem, openSized, writeFully } from "../../actors/io/fileSystem.js";

let dir: string;
const writers: DiskWriter[] = [];
function writer(script?: string): DiskWriter {
  const w = script === undefined ? new DiskWriter() : new DiskWriter(script);
  writers.push(w);
  return w;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "swarmsup-diskwriter-"));
});
afterAll(async () => {
  await Promise.all(writers.map((w) => w.close()));
  await rm(dir, { recursive: true, force: true });
});

describe("DiskWriter", () => {
  it("puts every byte at its position, whatever the lengths and offsets (crossing 16 KiB calls)", async () => {
    const w = writer();
    const path = join(dir, "random.bin");
    const size = 200_000;
    await writeFile(path, Buffer.alloc(size));
    const model = Buffer.alloc(size);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: 70_000 }), fc.boolean(), async (at, want, shared) => {
        const length = Math.min(want, size - at);
        const bytes = randomBytes(length);
        const data = shared ? Buffer.from(new SharedArrayBuffer(length + 7), 7, length) : bytes;
        if (shared) bytes.copy(data);
        await w.write(path, data, at);
        bytes.copy(model, at);
        expect((await readFile(path)).equals(model)).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(w.inFlight).toBe(0);
  });

  it("lands writes in the order they were asked for, so the later of two to the same bytes wins", async () => {
    const w = writer();
    const path = join(dir, "order.bin");
    await writeFile(path, Buffer.alloc(64 * 1024));
    const writes = Array.from({ length: 20 }, (_, i) => w.write(path, Buffer.alloc(40_000, i), 1000 * i));
    await Promise.all(writes);
    const got = await readFile(path);
    for (let i = 0; i < 20; i++) expect(got[1000 * i]).toBe(i);
    expect(got[19_000 + 39_999]).toBe(19);
  });

  it("copies bytes that are not shared, so the caller's buffer is its own again once the write resolved", async () => {
    const w = writer();
    const path = join(dir, "copy.bin");
    await writeFile(path, Buffer.alloc(10));
    const data = Buffer.from("abcdefghij");
    await w.write(path, data, 0);
    data.fill(0x21);
    expect((await readFile(path)).toString()).toBe("abcdefghij");
  });

  it("never creates a file: a missing one rejects with ENOENT (the file-IO worker crashes and reopens)", async () => {
    const w = writer();
    const error: unknown = await w.write(join(dir, "missing", "nope.bin"), Buffer.alloc(4), 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskWriteError);
    expect((error as DiskWriteError).code).toBe("ENOENT");
  });

  it("rejects what was in flight when its thread dies, and starts a new thread for the next write", async () => {
    const marker = join(dir, "died-once");
    const script = join(dir, "dies-once.mjs");
    await writeFile(
      script,
      `import { parentPort } from "node:worker_threads";
import { existsSync, writeFileSync } from "node:fs";
parentPort.on("message", (job) => {
  if (!existsSync(${JSON.stringify(marker)})) { writeFileSync(${JSON.stringify(marker)}, ""); process.exit(3); }
  parentPort.postMessage({ id: job.id, kind: "written" });
});`,
    );
    const w = writer(script);
    await expect(w.write("/unused", Buffer.alloc(1), 0)).rejects.toThrow(/exited \(code 3\)/);
    expect(w.inFlight).toBe(0);
    await expect(w.write("/unused", Buffer.alloc(1), 0)).resolves.toBeUndefined();
  });

  it("close rejects the writes still in flight", async () => {
    const script = join(dir, "never-answers.mjs");
    await writeFile(script, `import { parentPort } from "node:worker_threads";\nparentPort.on("message", () => {});`);
    const w = writer(script);
    const outcome = w.write("/unused", Buffer.alloc(1), 0).then(
      () => "written",
      (error: unknown) => error,
    );
    await w.close();
    expect(await outcome).toBeInstanceOf(DiskWriteError);
    expect(String(await outcome)).toMatch(/closed/);
  });
});

describe("nodeFileSystem's handles", () => {
  it("write through the disk writer and read back what was written; close waits for writes in flight", async () => {
    const path = join(dir, "handle.bin");
    const handle = await openSized(nodeFileSystem, path, 3 * 1024 * 1024);
    const piece = randomBytes(1024 * 1024 + 123);
    const writing = writeFully(handle, path, piece, 1000);
    await handle.close();
    await writing;
    const got = await readFile(path);
    expect(got.length).toBe(3 * 1024 * 1024);
    expect(got.subarray(1000, 1000 + piece.length).equals(piece)).toBe(true);
  });

  it("a write past a file shortened behind the handle's back still lands (positional, like pwrite)", async () => {
    const path = join(dir, "short.bin");
    const handle = await openSized(nodeFileSystem, path, 100);
    await truncate(path, 10);
    await writeFully(handle, path, Buffer.from("xyz"), 50);
    await handle.close();
    const got = await readFile(path);
    expect(got.length).toBe(53);
    expect(got.subarray(50).toString()).toBe("xyz");
  });
});
