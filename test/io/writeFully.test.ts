import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_WRITE_CALL, writeFully, type OpenFile } from "../../actors/io/fileSystem.js";

/** A file in memory that records each write call and moves at most `limit` bytes per call (short writes). */
function memoryFile(size: number, limit: number): { file: OpenFile; bytes: Buffer; calls: number[] } {
  const bytes = Buffer.alloc(size);
  const calls: number[] = [];
  const file: OpenFile = {
    write: async (buffer, offset, length, position) => {
      calls.push(length);
      const n = Math.min(length, limit);
      bytes.set(buffer.subarray(offset, offset + n), position);
      return { bytesWritten: n };
    },
    read: async () => ({ bytesRead: 0 }),
    stat: async () => ({ size }),
    truncate: async () => undefined,
    close: async () => undefined,
  };
  return { file, bytes, calls };
}

describe("writeFully", () => {
  it("writes every byte at its position through short writes, never handing the kernel more than MAX_WRITE_CALL at once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 * MAX_WRITE_CALL + 7 }), fc.integer({ min: 1000, max: 2 * MAX_WRITE_CALL }), fc.integer({ min: 0, max: 99 }), async (length, limit, at) => {
        const data = randomBytes(length);
        const { file, bytes, calls } = memoryFile(at + length, limit);
        await writeFully(file, "f", data, at);
        expect(bytes.subarray(at).equals(data)).toBe(true);
        expect(calls.reduce((m, c) => Math.max(m, c), 0)).toBeLessThanOrEqual(MAX_WRITE_CALL);
      }),
      { numRuns: 50 },
    );
  });

  it("a 1 MiB piece goes down in four calls", async () => {
    const { file, calls } = memoryFile(1 << 20, Infinity);
    await writeFully(file, "f", Buffer.alloc(1 << 20), 0);
    expect(calls).toEqual([MAX_WRITE_CALL, MAX_WRITE_CALL, MAX_WRITE_CALL, MAX_WRITE_CALL]);
  });

  it("fails rather than loop when the disk makes no progress", async () => {
    const { file } = memoryFile(10, 0);
    await expect(writeFully(file, "f", Buffer.alloc(10), 0)).rejects.toThrow();
  });
});
