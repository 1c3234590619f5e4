/**
 * Node profiles: what "datacenter" changes (choker slots and policy, the peers' snub
 * timeout, the re-announce interval) reaches the actors that use it, and a node's own
 * choker options win over the profile's. The re-announce runs on a ManualClock.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Runtime, advance, type Pid } from "../../src/runtime/index.js";
import { SwarmNode } from "../../src/node.js";
import { log } from "../../src/log.js";
import { encodeHttpAnnounce } from "../../src/protocol/tracker/index.js";
import { choker } from "../../actors/choker.js";
import { profileSettings } from "../../actors/choker/profile.js";
import { announcer } from "../../actors/announcer.js";
import { answer, fakeHttpTracker, torrentWith, type FakeHttpTracker } from "../tracker/clientHarness.js";
import { KiB, nodesStoppedAfterEach, peerPids, runCli, singleFileTorrent, startSeedNode, suiteDir, until } from "../helpers/swarm.js";

log.level = "silent";

describe("profile settings", () => {
  it("default: tit-for-tat, the liveness defaults, the tracker's interval", () => {
    expect(profileSettings("default")).toEqual({ choker: { profile: "default" }, liveness: {}, announceIntervalOverrideMs: undefined });
  });

  it("datacenter: the datacenter choker, a 5 s snub, a 3 s re-announce", () => {
    expect(profileSettings("datacenter")).toEqual({ choker: { profile: "datacenter" }, liveness: { snubTimeoutMs: 5000 }, announceIntervalOverrideMs: 3000 });
  });
});

describe("--profile on the command line (the built CLI)", () => {
  for (const cmd of [["seed", "x.torrent", "x"], ["get", "x.torrent", "-o", "out"]]) {
    it(`${cmd[0]} --profile lan: exit 2 naming the choices, before any file is read`, async () => {
      const r = await runCli(`${cmd[0]}-profile`, [...cmd, "--profile", "lan"], 20_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--profile lan: not one of default, datacenter");
    });
  }
});

describe("a node's profile reaches its actors", () => {
  const root = suiteDir("profile", async () => undefined);
  const nodes = nodesStoppedAfterEach();
  const trackers: FakeHttpTracker[] = [];
  afterEach(async () => {
    await Promise.all(trackers.splice(0).map((t) => t.close()));
  });

  it("the choker runs the profile's policy; the node's own choker options win", async () => {
    const plain = await SwarmNode.start({ label: "plain" });
    nodes.push(plain);
    const dc = await SwarmNode.start({ label: "dc", profile: "datacenter" });
    nodes.push(dc);
    const capped = await SwarmNode.start({ label: "capped", profile: "datacenter", choker: { uploadSlots: 8 } });
    nodes.push(capped);
    expect(await choker.status(plain.runtime)).toMatchObject({ profile: "default", uploadSlots: 4 });
    expect(await choker.status(dc.runtime)).toMatchObject({ profile: "datacenter", uploadSlots: 64 });
    expect(await choker.status(capped.runtime)).toMatchObject({ profile: "datacenter", uploadSlots: 8 });
  });

  it("a datacenter node's peers snub after 5 s; a default node's after 60 s", async () => {
    const t = await singleFileTorrent(root(), "snub.bin", 256 * KiB, 64 * KiB);
    const seed = await startSeedNode("127.0.0.51", [t]);
    nodes.push(seed);
    const dc = await SwarmNode.start({ host: "127.0.0.52", label: "dc", profile: "datacenter" });
    nodes.push(dc);
    await dc.addTorrent({ meta: t.meta, location: { kind: "downloadDir", dir: join(root(), "dc") }, peers: [{ host: "127.0.0.51", port: seed.port }] });
    const ih = t.meta.infoHashHex;
    const snubOf = async (node: SwarmNode, pid: Pid) => (await node.runtime.getState<{ config: { liveness: { snubTimeoutMs: number } } }>(pid)).config.liveness.snubTimeoutMs;
    const [dcPeer] = await until("the datacenter node's peer", () => (peerPids(dc, ih).length > 0 ? peerPids(dc, ih) : undefined), 10_000);
    const [seedPeer] = await until("the seed's peer", () => (peerPids(seed, ih).length > 0 ? peerPids(seed, ih) : undefined), 10_000);
    expect(await snubOf(dc, dcPeer!)).toBe(5000);
    expect(await snubOf(seed, seedPeer!)).toBe(60_000);
  });

  for (const profile of ["datacenter", "default"] as const) {
    it(`${profile}: the announcer re-announces ${profile === "datacenter" ? "3 s" : "only after the tracker's interval"} on the runtime clock`, async () => {
      const tracker = await fakeHttpTracker((_seen, _n, _req, res) => answer(res, encodeHttpAnnounce({ intervalSec: 1800, peers: [] })));
      trackers.push(tracker);
      const clock = new ManualClock();
      const node = await SwarmNode.start({ label: profile, profile, runtime: new Runtime({ clock, label: profile }) });
      nodes.push(node);
      const meta = torrentWith([[tracker.url]]);
      await node.addTorrent({ meta, location: { kind: "downloadDir", dir: join(root(), `announce-${profile}`) } });
      await tracker.seen.until((s) => s.length === 1, "the first announce");
      await until("the answer taken", async () => ((await announcer.status(node.runtime, meta.infoHashHex)).answered === 1 ? true : undefined), 5000);
      await advance(clock, 3000);
      if (profile === "datacenter") {
        await tracker.seen.until((s) => s.length === 2, "the re-announce 3 s later");
      } else {
        // The next one is due after the tracker's 30 min: nothing was asked by 3 s.
        await advance(clock, 0);
        expect((await announcer.status(node.runtime, meta.infoHashHex)).asking).toBeUndefined();
        expect(tracker.seen.items).toHaveLength(1);
      }
    });
  }
});
