/**
 * The parent's book of a member (src/swarm/ledger.ts): totals carried over torrent restarts
 * and process restarts, have drops seen only outside the start-up check.
 */
import { describe, expect, it } from "vitest";
import { MemberLedger, childKind } from "../../src/swarm/ledger.js";
import type { Sample } from "../../src/swarm/messages.js";

const base: Sample = { phase: "leeching", have: 0, pieces: 100, downloaded: 0, uploaded: 0, hashFails: 0, wastedBlocks: 0, peersSeen: 0, rssBytes: 1, cpuMicros: 0, audited: 0, auditMismatches: 0 };
const at = (over: Partial<Sample>): Sample => ({ ...base, ...over });

describe("member ledger", () => {
  it("sums verified bytes over torrent restarts (a counter that went down) and process restarts", () => {
    const l = new MemberLedger({ index: 1, label: "node1", role: "leech", host: "127.0.1.1" });
    l.newIncarnation();
    l.sample(at({ have: 10, downloaded: 1000, audited: 10 }), 1);
    l.sample(at({ have: 20, downloaded: 2000, audited: 20 }), 2);
    // the torrent was restarted in the process: a new TorrentState counts from zero
    l.sample(at({ phase: "checking", have: 0, downloaded: 0, audited: 20 }), 3);
    l.sample(at({ have: 25, downloaded: 500, audited: 25 }), 4);
    expect(l.fetchedBytes).toBe(2500);
    l.newIncarnation(); // SIGKILL and a new process
    l.sample(at({ have: 30, downloaded: 300, audited: 5, auditMismatches: 1 }), 5);
    expect(l.fetchedBytes).toBe(2800);
    expect(l.audited).toBe(30);
    expect(l.auditMismatches).toBe(1);
    expect(l.incarnations).toBe(2);
    expect(l.dropCount).toBe(0);
  });

  it("records a have drop outside the check, with the highest have before it", () => {
    const l = new MemberLedger({ index: 1, label: "node1", role: "leech", host: "127.0.1.1" });
    l.newIncarnation();
    l.sample(at({ have: 40 }), 100);
    l.sample(at({ phase: "checking", have: 0 }), 200);
    l.sample(at({ have: 35 }), 300);
    expect(l.drops).toEqual([{ atMs: 300, before: 40, after: 35 }]);
    expect(l.maxHave).toBe(40);
  });

  it("restarts are counted by child kind, completion time is the first one", () => {
    const l = new MemberLedger({ index: 2, label: "node2", role: "leech", host: "127.0.1.2" });
    l.restarted("file_io/0", "killed");
    l.restarted("file_io/3", "killed");
    l.restarted("piece_mgr", "killed");
    expect(Object.fromEntries(l.restarts)).toEqual({ file_io: 2, piece_mgr: 1 });
    expect(l.restartTotal).toBe(3);
    l.complete(at({ have: 100 }), 900);
    l.complete(at({ have: 100 }), 1900);
    expect(l.completeAtMs).toBe(900);
    expect(childKind("torrent_sup")).toBe("torrent_sup");
  });
});
