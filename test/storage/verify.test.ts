import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Metainfo } from "../../src/protocol/types.js";
import { resolveDataFiles } from "../../src/storage/dataPath.js";
import { createHashPool, createInlineHasher, type PieceHasher } from "../../src/storage/hashPool.js";
import { PayloadReadError } from "../../src/storage/pieceSource.js";
import { verifyPayload, type PieceVerdict } from "../../src/storage/verify.js";
import { flipByte, layoutOf, metainfoOf, pieceHashesOf, type FileSpec } from "./fixtures.js";

let root: string;
let pool: PieceHasher;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "swarmsup-verify-"));
  pool = createHashPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

let counter = 0;

/** Writes a multi-file payload (pad files stay off disk) and returns its Metainfo and file paths. */
async function writePayload(specs: readonly FileSpec[], pieceLength: number): Promise<{ meta: Metainfo; paths: string[] }> {
  const dir = join(root, `t${counter++}`);
  const layout = layoutOf(specs, pieceLength);
  const payload = Buffer.alloc(layout.length);
  for (const file of layout.files) if (!file.pad) randomBytes(file.length).copy(payload, file.offset);
  const meta = metainfoOf(layout, pieceHashesOf(payload, pieceLength));
  const paths = resolveDataFiles(meta, { kind: "dataPath", path: dir });
  await mkdir(dir, { recursive: true });
  await Promise.all(
    layout.files.map(async (file, i) => {
      if (file.pad) return;
      const path = paths[i] as string;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, payload.subarray(file.offset, file.offset + file.length));
    }),
  );
  return { meta, paths };
}

describe.each(["workerReads", "transfer"] as const)("verifyPayload (%s)", (strategy) => {
  it("finds every piece of intact data valid, pad files included, with progress up to the total", async () => {
    const { meta, paths } = await writePayload(
      [{ length: 1000 }, { length: 24, pad: true }, { length: 0 }, { length: 3000 }, { length: 1 }],
      1024,
    );
    const progress: number[] = [];
    const result = await verifyPayload({ meta, paths, hasher: pool, strategy, onProgress: (done, total) => progress.push(done / total) });
    expect(result).toEqual({ pieces: 4, valid: 4, invalid: [], missing: [] });
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("calls a flipped byte invalid and only that piece", async () => {
    const { meta, paths } = await writePayload([{ length: 5000 }, { length: 5000 }], 2048);
    await flipByte(paths[1] as string, 4000); // payload byte 9000: piece 4
    const verdicts: PieceVerdict[] = [];
    const result = await verifyPayload({ meta, paths, hasher: pool, strategy, onPiece: (v) => verdicts.push(v) });
    expect(result).toEqual({ pieces: 5, valid: 4, invalid: [4], missing: [] });
    const bad = verdicts.find((v) => v.kind === "invalid");
    expect(bad?.kind === "invalid" && bad.expected.equals(meta.pieceHashes.subarray(80, 100))).toBe(true);
  });

  it("calls pieces missing when a file is truncated, absent or a directory", async () => {
    const { meta, paths } = await writePayload([{ length: 3000 }, { length: 3000 }, { length: 3000 }, { length: 100 }], 1000);
    await truncate(paths[0] as string, 2500); // piece 2 short
    await rm(paths[1] as string); // pieces 3..5 (piece 5 also needs file 2)
    await rm(paths[3] as string);
    await mkdir(paths[3] as string); // piece 9 (file 3 is 9000..9100)
    const result = await verifyPayload({ meta, paths, hasher: pool, strategy });
    expect(result).toEqual({ pieces: 10, valid: 5, invalid: [], missing: [2, 3, 4, 5, 9] });
  });

  it("fails with the path when a file cannot be read for a reason other than absence", async () => {
    const { meta, paths } = await writePayload([{ length: 100 }, { length: 100 }], 64);
    await rm(paths[1] as string);
    await symlink(paths[1] as string, paths[1] as string); // ELOOP on open
    const run = verifyPayload({ meta, paths, hasher: pool, strategy });
    await expect(run).rejects.toBeInstanceOf(PayloadReadError);
    await expect(run).rejects.toThrow(paths[1] as string);
  });

  it("checks only the subset asked for", async () => {
    const { meta, paths } = await writePayload([{ length: 10_000 }], 1024);
    await flipByte(paths[0] as string, 0);
    const result = await verifyPayload({ meta, paths, hasher: pool, strategy, pieces: [9, 3, 0] });
    expect(result).toEqual({ pieces: 3, valid: 2, invalid: [0], missing: [] });
    await expect(verifyPayload({ meta, paths, hasher: pool, strategy, pieces: [10] })).rejects.toThrow(RangeError);
    await expect(verifyPayload({ meta, paths, hasher: pool, strategy, pieces: [1, 1] })).rejects.toThrow(/twice/);
  });

  it("stops when aborted and leaves nothing running", async () => {
    // Pieces of 2 MiB: one piece per worker batch, so an abort after the first leaves work undone.
    const { meta, paths } = await writePayload([{ length: 12 * 1024 * 1024 }], 2 * 1024 * 1024);
    const controller = new AbortController();
    let seen = 0;
    const run = verifyPayload({
      meta,
      paths,
      hasher: pool,
      strategy,
      inFlight: 1,
      signal: controller.signal,
      onPiece: () => {
        if (++seen === 1) controller.abort();
      },
    });
    await expect(run).rejects.toThrow();
    expect(seen).toBeLessThan(meta.pieceCount);
  });

  it("agrees with the pool and the inline hasher on random layouts with random damage", async () => {
    const inline = createInlineHasher();
    const cases = fc.record({
      specs: fc.array(
        fc.record({ length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4000 })), pad: fc.boolean() }),
        { minLength: 1, maxLength: 6 },
      ),
      pieceLength: fc.integer({ min: 100, max: 3000 }),
      flipAt: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    });
    await fc.assert(
      fc.asyncProperty(cases, async ({ specs, pieceLength, flipAt }) => {
        if (!specs.some((s) => s.length > 0 && !s.pad)) return;
        const { meta, paths } = await writePayload(specs, pieceLength);
        const dataFiles = meta.files.map((f, i) => ({ f, i })).filter(({ f }) => !f.pad && f.length > 0);
        const target = dataFiles[Math.floor(flipAt * dataFiles.length)];
        if (target === undefined) return;
        const within = Math.floor(flipAt * target.f.length);
        await flipByte(paths[target.i] as string, within);
        const damaged = Math.floor((target.f.offset + within) / pieceLength);
        for (const hasher of [pool, inline]) {
          const result = await verifyPayload({ meta, paths, hasher, strategy });
          expect(result.invalid).toEqual([damaged]);
          expect(result.valid).toBe(meta.pieceCount - 1);
        }
      }),
      { numRuns: 25 },
    );
  });
});
