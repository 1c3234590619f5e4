import { afterEach, describe, expect, it } from "vitest";
import { encodeHttpAnnounce, encodeHttpFailure } from "../../src/protocol/tracker/index.js";
import { encode, type BencodeEncodable } from "../../src/protocol/bencode.js";
import { answer, closedPort, lines, Scope, torrentWith } from "./clientHarness.js";
import { Reason } from "../../src/runtime/index.js";
import { names } from "../../actors/torrentState.js";

const scope = new Scope();
afterEach(() => scope.close());
const { rig, http: tracker } = scope;

const peersReply = (interval = 1800, extra: Partial<Parameters<typeof encodeHttpAnnounce>[0]> = {}) =>
  encodeHttpAnnounce({
    intervalSec: interval,
    peers: [
      { host: "127.0.0.1", port: 6881 }, // ourselves: trackers list the asker too
      { host: "127.0.0.1", port: 7001 },
      { host: "127.0.0.2", port: 7002 },
    ],
    ...extra,
  });

const fast = { backoff: { baseMs: 1000, maxMs: 8000 } };

describe("announcer over HTTP", () => {
  it("announces started with every parameter and hands the peers (not itself) to torrent_ctl", async () => {
    const t = await tracker((_s, _n, _req, res) => answer(res, peersReply()));
    const meta = torrentWith([[`${t.url}?passkey=p1`]]);
    const r = await rig(meta, { have: [0] });
    await r.peerCasts.until((c) => c.length === 1, "addPeers");
    expect(r.peerCasts.items[0]).toEqual([{ host: "127.0.0.1", port: 7001 }, { host: "127.0.0.2", port: 7002 }]);
    const q = t.seen.items[0]!.query;
    expect(t.seen.items[0]!.path).toBe("/announce");
    expect(q.get("passkey")?.toString()).toBe("p1");
    expect(q.get("info_hash")).toEqual(meta.infoHash);
    expect(q.get("peer_id")?.toString()).toBe("-SS0100-testtesttest");
    const text = (k: string) => q.get(k)?.toString();
    expect([text("port"), text("left"), text("uploaded"), text("downloaded"), text("event"), text("compact"), text("numwant")]).toEqual([
      "6881",
      String(40_000 - 16_384),
      "0",
      "0",
      "started",
      "1",
      "50",
    ]);
    expect(text("key")).toMatch(/^[0-9A-F]{8}$/);
    expect(await r.status()).toMatchObject({ answered: 1, failed: 0, peersFound: 2 });
  });

  it("keeps retrying a tracker that is down at start, logs the failure once, and recovers", async () => {
    const port = await closedPort();
    const meta = torrentWith([[`http://127.0.0.1:${port}/announce`]]);
    const r = await rig(meta, { manualClock: true, options: fast });
    const failed = (n: number) => r.logs.until((l) => l.filter((x) => x.msg.startsWith("tracker failed")).length >= n, `${n} failures`);
    await failed(1);
    for (const [i, wait] of [1000, 2000, 4000].entries()) {
      await r.advance(wait);
      await failed(i + 2);
    }
    expect(lines(r, "warn", "tracker failed")).toHaveLength(1);
    expect(lines(r, "warn", "tracker failed")[0]!.obj.reason).toMatch(/ECONNREFUSED/);
    expect(lines(r, "debug", "tracker failed again")).toHaveLength(3);
    expect(r.rt.isAlive(r.ctl)).toBe(true);

    const t = await tracker((_s, _n, _req, res) => answer(res, peersReply()), port);
    await r.advance(8000);
    await r.peerCasts.until((c) => c.length === 1, "peers after recovery");
    expect(t.seen.items[0]!.query.get("event")?.toString()).toBe("started");
    expect(lines(r, "info", "tracker answers again")[0]!.obj.after).toMatch(/ECONNREFUSED/);
    expect(r.pid !== "ignore" && r.rt.isAlive(r.pid)).toBe(true);
  });

  it("treats garbage, HTTP errors and malformed fields as failures, each logged once", async () => {
    const bodies: [number, Buffer][] = [
      [200, Buffer.from("<html>hello</html>")],
      [200, Buffer.from("<html>hello</html>")],
      [500, Buffer.from("d8:intervali5ee")],
      [200, encode(new Map<string, BencodeEncodable>([["interval", 60], ["peers", Buffer.alloc(7)]]))],
      [200, Buffer.alloc(0)],
    ];
    const t = await tracker((_s, n, _req, res) => {
      const [status, body] = bodies[n - 1] ?? [200, peersReply()];
      answer(res, body, status);
    });
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { backoff: { baseMs: 1000, maxMs: 1000 } } });
    for (let i = 1; i <= bodies.length; i++) {
      await r.logs.until((l) => l.filter((x) => x.msg.startsWith("tracker failed")).length >= i, `failure ${i}`);
      await r.advance(1000);
    }
    await r.peerCasts.until((c) => c.length === 1, "the good answer");
    expect(lines(r, "warn", "tracker failed").map((l) => l.obj.reason)).toEqual([
      "bad reply: body byte 0: unexpected '<' (0x3c) where a value should start",
      "HTTP 500",
      "bad reply: peers: 7 bytes is not a whole number of 6-byte ipv4 entries",
      "bad reply: body byte 0: unexpected end of input, expected a value",
    ]);
    expect(lines(r, "debug", "tracker failed again")).toHaveLength(1);
    expect(await r.status()).toMatchObject({ answered: 1, failed: 5 });
  });

  it("logs a failure reason once and backs off exponentially, honouring retry in", async () => {
    const t = await tracker((_s, n, _req, res) => answer(res, n <= 4 ? encodeHttpFailure("torrent not registered") : encodeHttpFailure("busy", 1)));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: fast });
    const askedAt: number[] = [];
    const start = r.clock!.now();
    for (let i = 1; i <= 5; i++) {
      await t.seen.until((s) => s.length >= i, `request ${i}`);
      askedAt.push(r.clock!.now() - start);
      await r.logs.until((l) => l.filter((x) => x.msg.startsWith("tracker failed")).length >= i, `failure ${i}`);
      const st = await r.status();
      if (i < 5) {
        const wait = st.trackers[0]!.retryAt - r.clock!.now();
        await r.advance(wait - 1);
        expect((await r.status()).asking, "not before the back-off").toBeUndefined();
        expect(t.seen.items).toHaveLength(i);
        await r.advance(1);
      }
    }
    expect(askedAt).toEqual([0, 1000, 3000, 7000, 15_000]);
    // BEP 31: "retry in 1" (minute) outweighs the 8 s back-off cap.
    expect((await r.status()).trackers[0]!.retryAt - r.clock!.now()).toBe(60_000);
    expect(lines(r, "warn", "tracker failed").map((l) => l.obj.reason)).toEqual(["tracker: torrent not registered", "tracker: busy"]);
    expect(lines(r, "debug", "tracker failed again")).toHaveLength(3);
  });

  it("refuses a 10 MiB reply: by Content-Length at once, and streamed without one after 1 MiB", async () => {
    const tenMiB = 10 * 1024 * 1024;
    const served: { written: number; finished: boolean }[] = [];
    const t = await tracker((_s, n, _req, res) => {
      if (n === 1) {
        res.writeHead(200, { "content-length": tenMiB });
        res.write(Buffer.alloc(64 * 1024, 0x61));
        res.on("error", () => undefined);
        return;
      }
      // Streamed, no length: write on drain until the client goes away.
      const record = { written: 0, finished: false };
      served.push(record);
      res.writeHead(200, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      res.on("error", () => undefined);
      const pump = (): void => {
        while (record.written < tenMiB) {
          record.written += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        record.finished = true;
        res.end();
      };
      pump();
    });
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { backoff: { baseMs: 1000, maxMs: 1000 } } });
    await r.logs.until((l) => l.some((x) => x.msg === "tracker failed"), "first refusal");
    expect(lines(r, "warn", "tracker failed")[0]!.obj.reason).toBe(`body of ${tenMiB} bytes exceeds the 1048576-byte limit`);
    await r.advance(1000);
    await r.logs.until((l) => l.filter((x) => x.msg === "tracker failed").length >= 2, "second refusal");
    expect(lines(r, "warn", "tracker failed")[1]!.obj.reason).toBe("body exceeds the 1048576-byte limit");
    expect(served[0]!.finished).toBe(false);
    expect(served[0]!.written).toBeLessThan(tenMiB);
  });

  it("follows a redirect and refuses a sixth", async () => {
    const t = await tracker((s, _n, _req, res) => {
      if (s.path === "/announce") {
        res.writeHead(302, { location: `/real?${new URLSearchParams({ x: "1" })}` });
        res.end();
      } else if (s.path === "/real") answer(res, peersReply());
      else {
        res.writeHead(307, { location: "/loop" });
        res.end();
      }
    });
    const r = await rig(torrentWith([[t.url], [`http://127.0.0.1:${t.port}/loop`]]), { manualClock: true, options: fast });
    await r.peerCasts.until((c) => c.length === 1, "peers via the redirect");
    expect(t.seen.items.map((s) => s.path)).toEqual(["/announce", "/real"]);

    const loop = await rig(torrentWith([[`http://127.0.0.1:${t.port}/loop`]]), { manualClock: true, options: fast });
    await loop.logs.until((l) => l.some((x) => x.msg === "tracker failed"), "the redirect loop refused");
    expect(lines(loop, "warn", "tracker failed")[0]!.obj.reason).toBe("more than 5 redirects (last to http://127.0.0.1:" + t.port + "/loop)");
    expect(t.seen.items.filter((s) => s.path === "/loop")).toHaveLength(6);
  });

  it("gives up on a tracker that never answers at its deadline and fails over to the next tier", async () => {
    const silent = await tracker(() => undefined);
    const good = await tracker((_s, _n, _req, res) => answer(res, peersReply()));
    const r = await rig(torrentWith([[silent.url], [good.url]]), { manualClock: true, options: { ...fast, http: { timeoutMs: 5000 } } });
    await silent.seen.until((s) => s.length === 1, "the silent tracker asked");
    await r.advance(4999);
    expect(good.seen.items).toHaveLength(0);
    await r.advance(1);
    await r.peerCasts.until((c) => c.length === 1, "peers from the second tier");
    expect(lines(r, "warn", "tracker failed")[0]!.obj.reason).toBe("no answer within 5000 ms");
  });

  it("moves the tracker that answered to the front of its tier", async () => {
    const down = await closedPort();
    const good = await tracker((_s, _n, _req, res) => answer(res, peersReply()));
    const r = await rig(torrentWith([[`http://127.0.0.1:${down}/announce`, good.url]]), { manualClock: true, options: fast });
    await r.peerCasts.until((c) => c.length === 1, "peers");
    expect((await r.status()).trackers.map((t) => [t.href, t.tier, t.failures])).toEqual([
      [good.url, 0, 0],
      [`http://127.0.0.1:${down}/announce`, 0, 1],
    ]);
  });

  it("re-announces after interval raised to min interval, sends completed at once, echoes the tracker id, and stopped on exit", async () => {
    const t = await tracker((_s, _n, _req, res) => answer(res, peersReply(60, { minIntervalSec: 120, trackerId: Buffer.from([0, 0xff, 0x20]) })));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { minReannounceMs: 1000 } });
    await r.peerCasts.until((c) => c.length === 1, "first answer");
    await r.advance(119_999);
    expect(t.seen.items).toHaveLength(1);
    await r.advance(1);
    await r.peerCasts.until((c) => c.length === 2, "the re-announce");
    const second = t.seen.items[1]!;
    expect(second.query.get("event")).toBeUndefined();
    expect(second.query.get("trackerid")).toEqual(Buffer.from([0, 0xff, 0x20]));

    for (let i = 0; i < r.state.meta.pieceCount; i++) r.state.have.set(i);
    r.completed();
    await t.seen.until((s) => s.length === 3, "completed");
    expect(t.seen.items[2]!.query.get("event")?.toString()).toBe("completed");
    expect(t.seen.items[2]!.query.get("left")?.toString()).toBe("0");
    await r.peerCasts.until((c) => c.length === 3, "its answer");

    await r.stop();
    expect(t.seen.items).toHaveLength(4);
    expect(t.seen.items[3]!.query.get("event")?.toString()).toBe("stopped");
    expect(t.seen.items[3]!.query.get("numwant")?.toString()).toBe("0");
  });

  it("says no goodbye when it dies abnormally (the torrent restarts at once and will say started again)", async () => {
    const t = await tracker((_s, _n, _req, res) => answer(res, peersReply()));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true });
    await r.peerCasts.until((c) => c.length === 1, "answer");
    if (r.pid === "ignore") throw new Error("no announcer");
    const exited = r.rt.awaitExit(r.pid);
    r.rt.exit(r.pid, Reason.error(new Error("parent died"))); // from outside: read as its parent's exit
    expect((await exited).kind).toBe("error");
    expect(r.rt.whereis(names.announcer(r.state.infoHashHex))).toBeUndefined();
    expect(t.seen.items).toHaveLength(1);
  });

  it("applies the node's interval override but never undercuts min interval", async () => {
    const t = await tracker((_s, n, _req, res) => answer(res, peersReply(1800, n === 1 ? {} : { minIntervalSec: 10 })));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, options: { announceIntervalOverrideMs: 3000 } });
    await r.peerCasts.until((c) => c.length === 1, "first answer");
    await r.advance(3000);
    await r.peerCasts.until((c) => c.length === 2, "3 s later");
    await r.advance(9999);
    expect(t.seen.items).toHaveLength(2);
    await r.advance(1);
    await r.peerCasts.until((c) => c.length === 3, "10 s later");
  });

  it("waits for the torrent's check before the first announce, so left is true from the start", async () => {
    const t = await tracker((_s, _n, _req, res) => answer(res, peersReply()));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, checking: true });
    await r.ctlCalls.until((c) => c.length === 1, "the announcer asking torrent_ctl");
    expect(r.ctlCalls.items[0]).toEqual({ t: "await", until: "checked" });
    await r.advance(60_000);
    expect(t.seen.items).toHaveLength(0);
    for (let i = 0; i < r.state.meta.pieceCount; i++) r.state.have.set(i); // the check found everything
    r.finishCheck();
    await t.seen.until((s) => s.length === 1, "the first announce");
    expect(t.seen.items[0]!.query.get("left")?.toString()).toBe("0");
  });

  it("announces at once when there is no torrent_ctl to wait for", async () => {
    const t = await tracker((_s, _n, _req, res) => answer(res, peersReply()));
    const r = await rig(torrentWith([[t.url]]), { manualClock: true, checking: true, noCtl: true });
    await t.seen.until((s) => s.length === 1, "the first announce");
    expect(lines(r, "debug", "announcing without waiting for the check")[0]!.obj.why).toMatch(/noproc/);
  });

  it("does not run at all for a torrent without a usable tracker", async () => {
    const r = await rig(torrentWith([]));
    expect(r.pid).toBe("ignore");
    const bad = await rig(torrentWith([["wss://t.example/announce"]]));
    expect(bad.pid).toBe("ignore");
    expect(lines(bad, "warn", "tracker URL skipped")[0]!.obj).toMatchObject({ reason: "unsupported scheme wss:" });
  });
});
