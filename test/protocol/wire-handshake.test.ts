import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  commonFeatures,
  encodeHandshake,
  HANDSHAKE_LENGTH,
  HandshakeParser,
  WireUsageError,
  type HandshakeFields,
  type HandshakeStep,
} from "../../src/protocol/wire/index.js";
import { split } from "./wire.fixtures.js";

const INFO_HASH = Buffer.alloc(20, 0xaa);
const PEER_ID = Buffer.from("-SW0001-abcdefghijkl");

function fields(flags: Partial<HandshakeFields> = {}): HandshakeFields {
  return { infoHash: INFO_HASH, peerId: PEER_ID, extended: false, fast: false, dht: false, ...flags };
}

function feed(chunks: readonly Buffer[]): HandshakeStep[] {
  const p = new HandshakeParser();
  const steps: HandshakeStep[] = [];
  for (const c of chunks) {
    const step = p.push(c);
    steps.push(step);
    if (step.type !== "needMore") break;
  }
  return steps;
}

describe("handshake encoding", () => {
  it("is 68 bytes: pstrlen, pstr, reserved, info-hash, peer id", () => {
    const b = encodeHandshake(fields());
    expect(b).toHaveLength(HANDSHAKE_LENGTH);
    expect(b[0]).toBe(19);
    expect(b.subarray(1, 20).toString("latin1")).toBe("BitTorrent protocol");
    expect(b.subarray(20, 28)).toEqual(Buffer.alloc(8));
    expect(b.subarray(28, 48)).toEqual(INFO_HASH);
    expect(b.subarray(48)).toEqual(PEER_ID);
  });

  it("sets the BEP 10, BEP 6 and DHT bits where libtorrent reads them", () => {
    const b = encodeHandshake(fields({ extended: true, fast: true, dht: true }));
    expect(b.subarray(20, 28)).toEqual(Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0x05]));
  });

  it("refuses an info-hash or peer id that is not 20 bytes", () => {
    expect(() => encodeHandshake(fields({ peerId: Buffer.alloc(19) }))).toThrow(WireUsageError);
  });
});

describe("handshake parsing", () => {
  it("decodes flags from the reserved bytes and keeps the other bits", () => {
    const b = encodeHandshake(fields());
    b[20] = 0x80; // some other client's bit
    b[25] = 0x10;
    b[27] = 0x04;
    const [step] = feed([b]);
    expect(step).toMatchObject({
      type: "handshake",
      handshake: { extended: true, fast: true, dht: false, infoHash: INFO_HASH, peerId: PEER_ID },
    });
    if (step?.type !== "handshake") throw new Error("no handshake");
    expect(step.handshake.reserved).toEqual(Buffer.from([0x80, 0, 0, 0, 0, 0x10, 0, 0x04]));
    expect(step.rest).toHaveLength(0);
  });

  it("hands back the bytes after the handshake untouched", () => {
    const after = Buffer.from([0, 0, 0, 1, 2]);
    const steps = feed([Buffer.concat([encodeHandshake(fields({ dht: true })), after])]);
    expect(steps[0]).toMatchObject({ type: "handshake", handshake: { dht: true }, rest: after });
  });

  it("gives the same handshake under every chunking, with the info-hash known at 48 bytes", () => {
    fc.assert(
      fc.property(
        fc.record({ extended: fc.boolean(), fast: fc.boolean(), dht: fc.boolean() }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: HANDSHAKE_LENGTH + 9 })),
        (flags, infoHash, cuts) => {
          const tail = Buffer.from("tail-bytes");
          const bytes = Buffer.concat([encodeHandshake(fields({ ...flags, infoHash })), tail]);
          const p = new HandshakeParser();
          let received = 0;
          const steps: HandshakeStep[] = [];
          for (const chunk of split(bytes, cuts)) {
            const step = p.push(chunk);
            steps.push(step);
            received += chunk.length;
            if (received >= 48) expect(p.infoHash).toEqual(Buffer.from(infoHash));
            else expect(p.infoHash).toBeUndefined();
            if (step.type !== "needMore") break;
          }
          const last = steps[steps.length - 1];
          if (last?.type !== "handshake") throw new Error(`no handshake: ${JSON.stringify(last)}`);
          expect(last.handshake).toMatchObject({ ...flags, infoHash: Buffer.from(infoHash), peerId: PEER_ID });
          // `rest` is the final chunk's part after byte 68: what the decoder gets first.
          expect(received - last.rest.length).toBe(HANDSHAKE_LENGTH);
          expect(last.rest).toEqual(bytes.subarray(HANDSHAKE_LENGTH, received));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("refuses an HTTP request at its first byte", () => {
    expect(feed([Buffer.from("G")])).toEqual([
      { type: "violation", reason: "badProtocolString", detail: expect.stringContaining("'G'") },
    ]);
  });

  it("refuses a wrong protocol string as soon as the wrong byte arrives", () => {
    const bytes = encodeHandshake(fields());
    bytes[6] = 0x58; // "BitToXrent"
    const steps = feed(split(bytes, Array.from({ length: 67 }, (_, i) => i + 1)));
    expect(steps).toHaveLength(7);
    expect(steps[6]).toMatchObject({ type: "violation", reason: "badProtocolString", detail: expect.stringContaining("byte 6") });
  });

  it("refuses any stream whose first 20 bytes are not the protocol header", () => {
    const header = encodeHandshake(fields()).subarray(0, 20);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), (junk) => {
        const bytes = Buffer.from(junk);
        const n = Math.min(20, bytes.length);
        const matches = bytes.subarray(0, n).equals(header.subarray(0, n));
        const steps = feed([bytes]);
        if (matches) expect(steps[0]?.type).not.toBe("violation");
        else expect(steps[0]).toMatchObject({ type: "violation", reason: "badProtocolString" });
      }),
      { numRuns: 1000 },
    );
  });

  it("stays failed, and may not be fed after success", () => {
    const bad = new HandshakeParser();
    const first = bad.push(Buffer.from([18]));
    expect(bad.push(Buffer.from("more"))).toBe(first);
    const good = new HandshakeParser();
    good.push(encodeHandshake(fields()));
    expect(() => good.push(Buffer.from([0]))).toThrow(WireUsageError);
  });
});

describe("features in common", () => {
  it("needs both ends to announce an extension", () => {
    const on = { extended: true, fast: true, dht: true };
    const off = { extended: false, fast: false, dht: false };
    expect(commonFeatures(on, on)).toEqual({ extended: true, fast: true });
    expect(commonFeatures(on, off)).toEqual({ extended: false, fast: false });
    expect(commonFeatures(off, { ...off, fast: true })).toEqual({ extended: false, fast: false });
  });
});
