/**
 * Tit-for-tat end to end (issue 6): in-process nodes on their own loopback addresses, real
 * sockets and files. A leecher L holds the first part of a torrent; five peers N1..N5 hold
 * nothing and want L's pieces; U holds the second part, wants L's, and uploads to L. With
 * two upload slots on L, U first waits behind non-uploaders that already hold the slots;
 * then a rechoke on L ranks U first by its download rate to L and leaves at least one
 * interested non-uploader choked. Nobody holds the last part, so no
 * one becomes a seed and every link stays. Waits are on L's rechoke events, bounded.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SwarmNode } from "../../src/node.js";
import { log } from "../../src/log.js";
import type { Metainfo } from "../../src/protocol/types.js";
import type { RechokeEvent } from "../../actors/choker.js";
import type { RechokeVerdict, SlotEvidence } from "../../actors/choker/rechoke.js";
import { KiB, nodesStoppedAfterEach, suiteDir, torrentOf, withTimeout } from "../helpers/swarm.js";

log.level = "silent";

const PIECE = 64 * KiB;
/** Pieces of L's part (A), U's part (B), and the part nobody has (C). */
const A = 64;
const B = 64;
const C = 8;
const L_HOST = "127.0.0.41";
const U_HOST = "127.0.0.42";
const N_HOSTS = ["127.0.0.43", "127.0.0.44", "127.0.0.45", "127.0.0.46", "127.0.0.47"];

const hostOf = (key: string): string => key.slice(0, key.lastIndexOf(":"));

/** Rechoke events of one node, and a bounded wait for the first one matching. */
class Rechokes {
  readonly seen: RechokeEvent[] = [];
  private waiter: { match: (v: RechokeVerdict) => boolean; resolve: (v: RechokeVerdict) => void } | undefined;

  readonly observe = (e: RechokeEvent): void => {
    if (this.seen.length < 10_000) this.seen.push(e);
    if (this.waiter?.match(e.verdict) === true) {
      this.waiter.resolve(e.verdict);
      this.waiter = undefined;
    }
  };

  first(what: string, match: (v: RechokeVerdict) => boolean, timeoutMs: number): Promise<RechokeVerdict> {
    const already = this.seen.find((e) => match(e.verdict));
    if (already !== undefined) return Promise.resolve(already.verdict);
    return withTimeout(new Promise<RechokeVerdict>((resolve) => (this.waiter = { match, resolve })), timeoutMs, what);
  }
}

/** `DIR/<name>` holding the payload's bytes for pieces [from, to) and zeros elsewhere. */
async function partialCopy(dir: string, meta: Metainfo, payload: Buffer, from: number, to: number): Promise<void> {
  const bytes = Buffer.alloc(payload.length);
  payload.copy(bytes, from * PIECE, from * PIECE, Math.min(payload.length, to * PIECE));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, meta.name), bytes);
}

describe("choker: tit-for-tat between in-process nodes", () => {
  const root = suiteDir("choker", async () => undefined);
  const nodes = nodesStoppedAfterEach();

  it("a peer that uploads to us is unchoked over peers that do not", async () => {
    const payload = randomBytes((A + B + C) * PIECE);
    const source = join(root(), "source", "payload.bin");
    await mkdir(join(root(), "source"), { recursive: true });
    await writeFile(source, payload);
    const meta = await torrentOf(source, PIECE);
    const ih = meta.infoHashHex;

    const rechokes = new Rechokes();
    // random 0: the optimistic draw takes the lowest pid among candidates, and the Ns'
    // links are older than U's, so U can only win a slot by rank.
    const leecher = await SwarmNode.start({
      host: L_HOST,
      label: "L",
      choker: { uploadSlots: 2, rechokeMs: 250, reportMs: 50, optimisticMs: 60_000, random: () => 0, onRechoke: rechokes.observe },
    });
    nodes.push(leecher);
    await partialCopy(join(root(), "L"), meta, payload, 0, A);
    await leecher.addTorrent({ meta, location: { kind: "downloadDir", dir: join(root(), "L") } });
    expect((await leecher.await(ih, "checked", 20_000)).have).toBe(A);

    // The non-uploaders: nothing to give, and one request in flight at a time, so they
    // stay interested in L for a while rather than emptying it in a few milliseconds.
    for (const host of N_HOSTS) {
      const n = await SwarmNode.start({ host, label: `N@${host}`, peerOptions: { pipeline: { minDepth: 1, maxDepth: 1 } } });
      nodes.push(n);
      await n.addTorrent({ meta, location: { kind: "downloadDir", dir: join(root(), host) }, peers: [{ host: L_HOST, port: leecher.port }] });
    }
    await rechokes.first("five interested non-uploaders on L", (v) => v.slots.filter((s) => N_HOSTS.includes(hostOf(s.key))).length === 5, 20_000);

    const uploader = await SwarmNode.start({ host: U_HOST, label: "U", choker: { reportMs: 50 } });
    nodes.push(uploader);
    await partialCopy(join(root(), "U"), meta, payload, A, A + B);
    await uploader.addTorrent({ meta, location: { kind: "downloadDir", dir: join(root(), "U") }, peers: [{ host: L_HOST, port: leecher.port }] });

    const isU = (s: SlotEvidence): boolean => hostOf(s.key) === U_HOST;
    const decisive = await rechokes.first(
      "a rechoke on L giving U a regular slot by its rate while a non-uploader waits",
      (v) => v.slots.some((s) => isU(s) && s.kind === "regular" && s.rate > 0) && v.slots.some((s) => !isU(s) && s.kind === "choked" && s.why === "outranked"),
      30_000,
    );
    expect(decisive.mode).toBe("leeching");
    expect(decisive.rankedBy).toBe("downloadRate");
    const u = decisive.slots.find(isU);
    expect(u).toMatchObject({ kind: "regular", rank: 1, by: "downloadRate" });
    // Every non-uploader sends L nothing: the ones in slots hold them by tie or by the draw.
    for (const s of decisive.slots.filter((x) => !isU(x))) {
      if (s.kind === "regular") expect(s.rate).toBe(0);
    }
    const unchoked = decisive.slots.filter((s) => s.kind !== "choked");
    expect(unchoked.length).toBeLessThanOrEqual(3);
    // U's slot was not given for free: when it first asked, L's slots were held by
    // non-uploaders (ties go to peers already unchoked) and U waited until its rate counted.
    const asked = rechokes.seen.map((e) => e.verdict.slots.find(isU)).find((s) => s !== undefined && !(s.kind === "choked" && s.why === "notInterested"));
    expect(asked).toMatchObject({ kind: "choked", why: "outranked" });
    const waiting = decisive.slots.filter((s) => s.kind === "choked" && s.why === "outranked");
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    expect(waiting.every((s) => N_HOSTS.includes(hostOf(s.key)))).toBe(true);
  }, 60_000);
});
