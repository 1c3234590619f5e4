import { describe, expect, it } from "vitest";
import { createActor, getNextSnapshot } from "xstate";
import {
  INITIAL_FLAGS,
  linkFlags,
  linkPhase,
  peerLinkMachine,
  type LinkFlags,
  type PeerLinkEvent,
  type PeerLinkEventType,
} from "../../actors/peer/machine.js";

function started(...events: PeerLinkEvent[]) {
  const actor = createActor(peerLinkMachine);
  actor.start();
  for (const e of events) actor.send(e);
  return actor;
}

const toActive: PeerLinkEvent[] = [{ type: "CONNECTED" }, { type: "HANDSHAKE_OK" }];

describe("peer link machine: lifecycle", () => {
  it("starts connecting with the BEP 3 flags", () => {
    const a = started();
    expect(linkPhase(a.getSnapshot())).toBe("connecting");
    expect(linkFlags(a.getSnapshot())).toEqual(INITIAL_FLAGS);
  });

  it("CONNECTED -> handshaking, HANDSHAKE_OK -> active", () => {
    const a = started({ type: "CONNECTED" });
    expect(linkPhase(a.getSnapshot())).toBe("handshaking");
    a.send({ type: "HANDSHAKE_OK" });
    expect(linkPhase(a.getSnapshot())).toBe("active");
    expect(linkFlags(a.getSnapshot())).toEqual(INITIAL_FLAGS);
  });

  it("HANDSHAKE_TIMEOUT ends the handshake with that reason", () => {
    const a = started({ type: "CONNECTED" }, { type: "HANDSHAKE_TIMEOUT" });
    const s = a.getSnapshot();
    expect(linkPhase(s)).toBe("closing");
    expect(s.status).toBe("done");
    expect(s.output).toEqual({ reason: "handshakeTimeout", detail: undefined });
  });

  const prefixes: readonly (readonly [string, PeerLinkEvent[]])[] = [
    ["connecting", []],
    ["handshaking", [{ type: "CONNECTED" }]],
    ["active", toActive],
    ["active, all flags moved", [...toActive, { type: "UNCHOKE_PEER" }, { type: "BECOME_INTERESTED" }, { type: "SNUBBED" }]],
  ];
  for (const [where, prefix] of prefixes) {
    it(`CLOSE from ${where} reaches closing with its reason and detail`, () => {
      const a = started(...prefix, { type: "CLOSE", reason: "violation", detail: "have for piece 9 of 3" });
      const s = a.getSnapshot();
      expect(linkPhase(s)).toBe("closing");
      expect(s.status).toBe("done");
      expect(s.output).toEqual({ reason: "violation", detail: "have for piece 9 of 3" });
      expect(linkFlags(s)).toEqual(INITIAL_FLAGS);
    });
  }

  it("after closing, nothing moves it (a second CLOSE keeps the first reason)", () => {
    // Asked of the pure transition function: a stopped actor would only warn on send.
    const done = started(...toActive, { type: "CLOSE", reason: "inactive" }).getSnapshot();
    for (const e of [{ type: "CLOSE", reason: "shutdown" }, { type: "CONNECTED" }] as const) {
      const next = getNextSnapshot(peerLinkMachine, done, e);
      expect(next.status).toBe("done");
      expect(next.output).toEqual({ reason: "inactive", detail: undefined });
    }
  });
});

describe("peer link machine: active regions", () => {
  const cases: readonly (readonly [on: PeerLinkEventType, off: PeerLinkEventType, flag: keyof LinkFlags, onValue: boolean])[] = [
    ["UNCHOKE_PEER", "CHOKE_PEER", "amChoking", false],
    ["BECOME_INTERESTED", "LOSE_INTEREST", "amInterested", true],
    ["PEER_UNCHOKE", "PEER_CHOKE", "peerChoking", false],
    ["PEER_INTERESTED", "PEER_NOT_INTERESTED", "peerInterested", true],
    ["SNUBBED", "UNSNUBBED", "snubbed", true],
  ];

  for (const [on, off, flag, onValue] of cases) {
    it(`${on} / ${off} move ${flag} and nothing else`, () => {
      const a = started(...toActive);
      a.send({ type: on } as PeerLinkEvent);
      expect(linkFlags(a.getSnapshot())).toEqual({ ...INITIAL_FLAGS, [flag]: onValue });
      a.send({ type: on } as PeerLinkEvent); // repeated: ignored
      expect(linkFlags(a.getSnapshot())).toEqual({ ...INITIAL_FLAGS, [flag]: onValue });
      a.send({ type: off } as PeerLinkEvent);
      expect(linkFlags(a.getSnapshot())).toEqual(INITIAL_FLAGS);
      a.send({ type: off } as PeerLinkEvent);
      expect(linkFlags(a.getSnapshot())).toEqual(INITIAL_FLAGS);
    });

    it(`${on} before the link is active is ignored`, () => {
      const a = started({ type: on } as PeerLinkEvent);
      expect(linkPhase(a.getSnapshot())).toBe("connecting");
      a.send({ type: "CONNECTED" });
      a.send({ type: on } as PeerLinkEvent);
      expect(linkPhase(a.getSnapshot())).toBe("handshaking");
      a.send({ type: "HANDSHAKE_OK" });
      expect(linkFlags(a.getSnapshot())).toEqual(INITIAL_FLAGS);
    });
  }

  it("the regions are independent: every flag set at once", () => {
    const a = started(
      ...toActive,
      { type: "UNCHOKE_PEER" },
      { type: "BECOME_INTERESTED" },
      { type: "PEER_UNCHOKE" },
      { type: "PEER_INTERESTED" },
      { type: "SNUBBED" },
    );
    expect(linkFlags(a.getSnapshot())).toEqual({
      amChoking: false,
      amInterested: true,
      peerChoking: false,
      peerInterested: true,
      snubbed: true,
    });
  });

  it("lifecycle events out of place are ignored", () => {
    const a = started({ type: "HANDSHAKE_OK" }, { type: "HANDSHAKE_TIMEOUT" });
    expect(linkPhase(a.getSnapshot())).toBe("connecting");
    a.send({ type: "CONNECTED" });
    a.send({ type: "CONNECTED" });
    expect(linkPhase(a.getSnapshot())).toBe("handshaking");
    a.send({ type: "HANDSHAKE_OK" });
    a.send({ type: "CONNECTED" });
    a.send({ type: "HANDSHAKE_OK" });
    a.send({ type: "HANDSHAKE_TIMEOUT" });
    expect(linkPhase(a.getSnapshot())).toBe("active");
  });
});
