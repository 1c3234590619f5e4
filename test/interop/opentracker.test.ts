/**
 * Two swarmsup nodes (in-process SwarmNodes) find each other through Debian's opentracker,
 * once over HTTP and once over UDP, and the leecher completes with the right bytes. The
 * torrents know no peers: only the tracker can introduce them. Along the way: the HTTP
 * torrent's first tier is a dead tracker (BEP 12 failover to the real one), the tracker's
 * scrape shows both nodes as seeds after `completed`, and none after `stopped`.
 *
 * opentracker (Debian's build) serves whitelisted info-hashes only, drops root for
 * `-u nobody` and chroots into `-d DIR`, where it reads the whitelist: so DIR is a
 * world-readable temp directory made here, with the hashes of the torrents made here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SwarmNode } from "../../src/node.js";
import { createTorrent } from "../../src/storage/create.js";
import { createInlineHasher } from "../../src/storage/hashPool.js";
import type { Metainfo } from "../../src/protocol/types.js";
import { announcer, type AnnouncerStatus } from "../../actors/announcer.js";
import { decode } from "../../src/protocol/bencode.js";
import { decodeUdpReply, encodeConnect, encodeScrape } from "../../src/protocol/tracker/index.js";
import { describeInterop, opentrackerMissing } from "../helpers/interop.js";

const PIECE = 64 * 1024;
const SIZE = 3 * 1024 * 1024 + 1234;

/** A port free for both TCP and UDP on 127.0.0.1 (opentracker takes the same number for both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const udp = dgram.createSocket("udp4");
    const free = await new Promise<boolean>((resolve) => {
      udp.once("error", () => resolve(false));
      udp.bind(port, "127.0.0.1", () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (free) return port;
  }
  throw new Error("no port free for both TCP and UDP");
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

function get(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

const pct = (bytes: Buffer): string => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

interface Counts {
  readonly seeders: number;
  readonly leechers: number;
}

async function httpScrape(port: number, meta: Metainfo): Promise<Counts> {
  const doc = decode(await get(`http://127.0.0.1:${port}/scrape?info_hash=${pct(meta.infoHash)}`));
  const files = doc instanceof Map ? doc.get("files") : undefined;
  const entry = files instanceof Map ? files.get(meta.infoHash.toString("latin1")) : undefined;
  if (!(entry instanceof Map)) return { seeders: 0, leechers: 0 };
  return { seeders: Number(entry.get("complete") ?? 0), leechers: Number(entry.get("incomplete") ?? 0) };
}

/** BEP 15 scrape with our codec, against the real tracker. */
async function udpScrape(port: number, meta: Metainfo): Promise<Counts> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
  const exchange = (packet: Buffer, txid: number, action: "connect" | "scrape") =>
    new Promise<ReturnType<typeof decodeUdpReply>>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no ${action} reply from opentracker`)), 3000);
      sock.on("message", function onMessage(reply) {
        const v = decodeUdpReply(reply, { txid, action, maxPeers: 0, scraped: 1 });
        if (v.kind === "stray") return;
        sock.off("message", onMessage);
        clearTimeout(guard);
        resolve(v);
      });
      sock.send(packet, port, "127.0.0.1");
    });
  try {
    const c = await exchange(encodeConnect(1), 1, "connect");
    if (c.kind !== "connected") throw new Error(`connect: ${JSON.stringify(c)}`);
    const s = await exchange(encodeScrape(c.connectionId, 2, [meta.infoHash]), 2, "scrape");
    if (s.kind !== "scraped") throw new Error(`scrape: ${JSON.stringify(s)}`);
    const [e] = s.entries;
    return { seeders: e?.seeders ?? 0, leechers: e?.leechers ?? 0 };
  } finally {
    sock.close();
  }
}

/** Bounded wait for a condition only a status call can tell (the announcer's answers). */
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, limitMs = 15_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const trackerStatus = (node: SwarmNode, meta: Metainfo) => () => announcer.status(node.runtime, meta.infoHashHex);
const answeredBy = (href: string, pred: (t: AnnouncerStatus["trackers"][number]) => boolean) => (s: AnnouncerStatus) =>
  s.trackers.some((t) => t.href === href && pred(t));

describeInterop("swarmsup nodes meet through opentracker", opentrackerMissing, () => {
  let dir = "";
  let port = 0;
  let tracker: ChildProcess | undefined;
  let trackerLog = "";
  const torrents = new Map<string, { meta: Metainfo; payload: string; data: Buffer }>();
  const nodes: SwarmNode[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "swarmsup-opentracker-"));
    const chroot = join(dir, "chroot");
    await mkdir(chroot);
    await chmod(dir, 0o755);
    await chmod(chroot, 0o755);
    port = await freePort();
    const dead = await freePort();
    const announce = {
      http: [`http://127.0.0.1:${dead}/announce`, `http://127.0.0.1:${port}/announce`],
      udp: [`udp://127.0.0.1:${port}/announce`],
    };
    for (const [kind, urls] of Object.entries(announce)) {
      const data = randomBytes(SIZE);
      const payload = join(dir, `${kind}.bin`);
      await writeFile(payload, data);
      const { metainfo } = await createTorrent({ path: payload, hasher: createInlineHasher(), pieceLength: PIECE, announce: urls });
      torrents.set(kind, { meta: metainfo, payload, data });
    }
    const whitelist = join(chroot, "whitelist");
    await writeFile(whitelist, [...torrents.values()].map((t) => `${t.meta.infoHashHex}\n`).join(""));
    await chmod(whitelist, 0o644);

    tracker = spawn("opentracker", ["-i", "127.0.0.1", "-p", String(port), "-P", String(port), "-d", chroot, "-u", "nobody", "-w", "/whitelist"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    tracker.stdout?.on("data", (c: Buffer) => (trackerLog += c.toString()));
    tracker.stderr?.on("data", (c: Buffer) => (trackerLog += c.toString()));
    let up = false;
    for (let i = 0; i < 200 && !up && tracker.exitCode === null; i++) {
      up = await connects(port);
      if (!up) await new Promise((r) => setTimeout(r, 25));
    }
    if (!up) throw new Error(`opentracker did not listen on ${port}: ${trackerLog}`);
    // The whitelist is loaded by a thread of its own: wait until a listed hash is accepted
    // (a probe peer announces started, then stopped, so the swarm is empty again).
    const first = [...torrents.values()][0]!.meta;
    const probe = (event: string) =>
      get(`http://127.0.0.1:${port}/announce?info_hash=${pct(first.infoHash)}&peer_id=-PROBE-0123456789abc&port=1&left=1&compact=1&event=${event}`);
    await until(() => probe("started"), (body) => !body.toString("latin1").includes("failure reason"), "the whitelist to be loaded", 5000);
    await probe("stopped");
  }, 30_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (tracker !== undefined && tracker.exitCode === null) {
      const exited = new Promise((r) => tracker?.once("exit", r));
      tracker.kill("SIGTERM");
      await exited;
    }
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  async function meetAndDownload(kind: "http" | "udp", scrape: (port: number, meta: Metainfo) => Promise<Counts>): Promise<void> {
    const t = torrents.get(kind)!;
    const href = t.meta.announceList.flat().find((u) => u.includes(`:${port}/`))!;
    const seed = await SwarmNode.start({ label: `${kind}-seed` });
    const leech = await SwarmNode.start({ label: `${kind}-leech` });
    nodes.push(seed, leech);

    await seed.addTorrent({ meta: t.meta, location: { kind: "dataPath", path: t.payload } });
    // The leecher learns of the seed from the tracker, so the seed must be known there first.
    await until(trackerStatus(seed, t.meta), answeredBy(href, (s) => s.startedSent), "the seed's started announce");

    const out = join(dir, `${kind}-out`);
    await leech.addTorrent({ meta: t.meta, location: { kind: "downloadDir", dir: out } });
    const done = await leech.await(t.meta.infoHashHex, "complete", 30_000);
    expect(done.have).toBe(t.meta.pieceCount);
    expect((await readFile(join(out, t.meta.name))).equals(t.data)).toBe(true);

    const status = await until(trackerStatus(leech, t.meta), answeredBy(href, (s) => s.completedSent), "the leecher's completed announce");
    expect(status.peersFound).toBeGreaterThanOrEqual(1);
    expect(await scrape(port, t.meta)).toEqual({ seeders: 2, leechers: 0 });

    await leech.stop();
    await seed.stop();
    expect(await scrape(port, t.meta)).toEqual({ seeders: 0, leechers: 0 });
  }

  it("over HTTP, after failing over from a dead first tier", async () => {
    await meetAndDownload("http", httpScrape);
  }, 60_000);

  it("over UDP", async () => {
    await meetAndDownload("udp", udpScrape);
  }, 60_000);
});
