import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hashPiece, hashPieceMoved, HASH_POOL_NAME, poolHasher, sha1Inline, startHashPool } from "../../actors/hashPool.js";
import { hashPoolChild } from "../../supervisors/hashPoolSpec.js";
import { CallError, Reason, startSupervisor, supervisorSpec, type Pid } from "../../src/runtime/index.js";
import { createHashPool, pieceBuffer, type PieceHasher } from "../../src/storage/hashPool.js";
import { resolveDataFiles } from "../../src/storage/dataPath.js";
import { verifyPayload } from "../../src/storage/verify.js";
import { deferred, harness } from "../runtime/harness.js";
import { payloadFor, tempRoot, torrentOf, type FileSpec } from "./helpers.js";

const sha1 = (data: Uint8Array): Buffer => createHash("sha1").update(data).digest();

/** A one-thread pool whose close (piscina's destroy: threads ended) is watched. */
function watchedPool(): { create: () => PieceHasher; closed: Promise<void>; created: () => number } {
  const closed = deferred<void>();
  const pools: PieceHasher[] = [];
  return {
    create: () => {
      const pool = createHashPool({ threads: 1 });
      pools.push(pool);
      return { ...pool, close: () => pool.close().then(() => closed.resolve()) };
    },
    closed: closed.promise,
    created: () => pools.length,
  };
}

let stopAll: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stopAll) await stop();
  stopAll = [];
});

async function startPool(create?: () => PieceHasher) {
  const h = harness();
  const pid = (await startHashPool({ threads: 1, ...(create === undefined ? {} : { createHasher: create }) }, { runtime: h.rt, link: false })) as Pid;
  stopAll.push(() => (h.rt.isAlive(pid) ? h.rt.stop(pid, Reason.shutdown()) : Promise.resolve()));
  return { h, pid };
}

describe("hash_pool", () => {
  it("hashes pieces of any size like crypto's SHA-1, many at once, leaving the caller's bytes alone", async () => {
    const { h, pid } = await startPool();
    expect(h.rt.whereis(HASH_POOL_NAME)).toBe(pid);
    const pieces = [0, 1, 16_384, 100_001, 1 << 20].map((size) => randomBytes(size));
    const digests = await Promise.all(pieces.map((piece) => hashPiece(h.rt, piece)));
    expect(digests.map((d) => d.toString("hex"))).toEqual(pieces.map((p) => sha1(p).toString("hex")));
    expect(pieces[4]?.length).toBe(1 << 20);
    expect(pieces.map(sha1Inline)).toEqual(pieces.map(sha1));
  });

  it("moves a piece to the thread and back without a copy", async () => {
    const { h } = await startPool();
    const piece = pieceBuffer(4096).fill(9);
    const expected = sha1(piece);
    const ab = piece.buffer as ArrayBuffer;
    const { digest, piece: back } = await hashPieceMoved(h.rt, ab);
    expect(ab.byteLength).toBe(0); // detached: it went to the worker
    expect(digest.equals(expected)).toBe(true);
    expect(Buffer.from(back).equals(Buffer.alloc(4096, 9))).toBe(true);
  });

  it("serves bulk verify through poolHasher", async () => {
    const { h } = await startPool();
    const root = await tempRoot();
    stopAll.push(root.remove);
    const files: FileSpec[] = [
      { path: ["v", "a"], length: 5000 },
      { path: ["v", "b"], length: 3000 },
    ];
    const payload = payloadFor(files, 3);
    const meta = torrentOf(files, 1024, payload);
    const paths = resolveDataFiles(meta, { kind: "downloadDir", dir: root.dir });
    await mkdir(join(root.dir, "v"));
    await writeFile(paths[0] as string, payload.subarray(0, 5000));
    const corrupt = Buffer.from(payload.subarray(5000));
    corrupt[100] = (corrupt[100] ?? 0) ^ 1;
    await writeFile(paths[1] as string, corrupt);
    const hasher = await poolHasher(h.rt);
    expect(hasher.parallelism).toBe(1);
    const result = await verifyPayload({ meta, paths, hasher });
    expect(result).toMatchObject({ pieces: 8, valid: 7, invalid: [4], missing: [] });
  });

  it("refuses a malformed request and keeps running", async () => {
    const { h, pid } = await startPool();
    const answer = await h.rt.call<{ kind: string; error: unknown }>(pid, { op: "sha1", piece: "nope" });
    expect(answer.kind).toBe("refused");
    expect(answer.error).toBeInstanceOf(TypeError);
    expect(h.rt.isAlive(pid)).toBe(true);
  });

  for (const [label, exit] of [
    ["killed", (h: ReturnType<typeof harness>, pid: Pid) => h.rt.exit(pid, Reason.kill)],
    ["shut down", (h: ReturnType<typeof harness>, pid: Pid) => void h.rt.stop(pid, Reason.shutdown())],
  ] as const) {
    it(`destroys its pool when ${label}`, async () => {
      const pool = watchedPool();
      const { h, pid } = await startPool(pool.create);
      await hashPiece(h.rt, Buffer.from("warm up"));
      let closedFirst = false;
      void pool.closed.then(() => (closedFirst = true));
      const exited = h.rt.awaitExit(pid);
      exit(h, pid);
      await Promise.all([pool.closed, exited]);
      // an orderly stop waits for the threads before the exit; a kill cannot wait
      if (label === "shut down") expect(closedFirst).toBe(true);
      expect(pool.created()).toBe(1);
    });
  }

  it("a task the pool rejects crashes it; its supervisor starts a fresh pool", async () => {
    const h = harness();
    let made = 0;
    const failing = (): PieceHasher => {
      made++;
      const real = createHashPool({ threads: 1 });
      return made === 1 ? { ...real, sha1: () => Promise.reject(new Error("worker thread died")) } : real;
    };
    const sup = await startSupervisor(supervisorSpec({ strategy: "one_for_one", children: [hashPoolChild({ createHasher: failing })] }), { runtime: h.rt });
    stopAll.push(() => h.rt.stop(sup, Reason.shutdown()));
    const error = await hashPiece(h.rt, Buffer.from("x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallError);
    expect((error as CallError).reason.kind).toBe("error");
    await h.settle();
    expect(made).toBe(2);
    expect((await hashPiece(h.rt, Buffer.from("x"))).equals(sha1(Buffer.from("x")))).toBe(true);
  });
});
