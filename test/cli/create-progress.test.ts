import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatBytes, progressMode, startProgress } from "../../src/cli/progress.js";

/** Enough of a terminal for cli-progress: collects what it draws. */
function fakeTerminal(isTTY: boolean): { stream: NodeJS.WriteStream; output: () => string } {
  const chunks: string[] = [];
  const writable = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const terminal = Object.assign(writable, {
    isTTY,
    columns: 120,
    cursorTo: (x: number) => chunks.push(`<cursor ${x}>`) > 0,
    clearLine: () => chunks.push("<clear>") > 0,
    moveCursor: () => true,
    getWindowSize: () => [120, 40],
  });
  return { stream: terminal as unknown as NodeJS.WriteStream, output: () => chunks.join("") };
}

describe("progressMode", () => {
  it("shows a bar only on a terminal without --json", () => {
    expect(progressMode(false, true)).toEqual({ kind: "bar" });
    expect(progressMode(true, true)).toEqual({ kind: "quiet", reason: "json" });
    expect(progressMode(false, false)).toEqual({ kind: "quiet", reason: "notATerminal" });
    expect(progressMode(false, undefined)).toEqual({ kind: "quiet", reason: "notATerminal" });
  });
});

describe("startProgress", () => {
  it("writes nothing when stdout is not a terminal", () => {
    const { stream, output } = fakeTerminal(false);
    const progress = startProgress({ label: "hashing", json: false, stream });
    progress.update(10, 100);
    progress.stop();
    expect(output()).toBe("");
  });

  it("writes nothing with --json, even on a terminal", () => {
    const { stream, output } = fakeTerminal(true);
    const progress = startProgress({ label: "hashing", json: true, stream });
    progress.update(10, 100);
    progress.stop();
    expect(output()).toBe("");
  });

  it("draws bytes, rate and percentage on a terminal, and stops idempotently", () => {
    const { stream, output } = fakeTerminal(true);
    let now = 0;
    const progress = startProgress({ label: "hashing", json: false, stream, now: () => now });
    now = 2000;
    progress.update(512 * 1024 * 1024, 1024 * 1024 * 1024);
    progress.stop();
    progress.stop();
    progress.update(1, 1); // after stop: ignored
    expect(output()).toMatch(/hashing \[#+-+\] 50% \| 512 MiB \/ 1\.0 GiB \| 256 MiB\/s/);
  });
});

describe("formatBytes", () => {
  it("uses binary units with at most one decimal", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(100 * 1024 * 1024)).toBe("100 MiB");
    expect(formatBytes(5 * 1024 ** 4)).toBe("5.0 TiB");
  });
});
