import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HEAP_GROWING_PERCENT, INTERRUPT_BUDGET, v8Flags } from "../../src/cli/v8Tuning.js";

/**
 * A child that applies `flags` the way tuneV8 does (after start-up), runs a small function
 * 60,000 times and reports whether TurboFan optimized it. Synchronous compilation, so the
 * answer does not depend on a background thread's timing.
 */
function optimizedAfterWarmLoop(flags: readonly string[]): string {
  const script = `
const { setFlagsFromString } = require("node:v8");
for (const f of JSON.parse(process.argv[1])) setFlagsFromString(f);
function warm(x) { return (x * 3 + 1) | 0; }
let s = 0;
for (let i = 0; i < 60000; i++) s += warm(i);
process.stdout.write((%GetOptimizationStatus(warm) & 16) !== 0 ? "optimized" : "baseline");`;
  const child = spawnSync(process.execPath, ["--allow-natives-syntax", "--no-concurrent-recompilation", "-e", script, JSON.stringify(flags)], {
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout;
}

describe("the CLI's V8 flags", () => {
  it("sets the heap growth factor and the interrupt budget unless told not to", () => {
    expect(v8Flags({})).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, `--interrupt-budget=${INTERRUPT_BUDGET}`]);
    expect(v8Flags({ SWARMSUP_V8_DEFAULT_HEAP: "1" })).toEqual([`--interrupt-budget=${INTERRUPT_BUDGET}`]);
    expect(v8Flags({ SWARMSUP_V8_DEFAULT_JIT: "1" })).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
    expect(v8Flags({ SWARMSUP_V8_DEFAULT_HEAP: "1", SWARMSUP_V8_DEFAULT_JIT: "1" })).toEqual([]);
  });

  it("the interrupt budget, set after start-up, keeps warm code out of TurboFan that V8's default optimizes", () => {
    expect(optimizedAfterWarmLoop(v8Flags({ SWARMSUP_V8_DEFAULT_JIT: "1" }))).toBe("optimized");
    expect(optimizedAfterWarmLoop(v8Flags({}))).toBe("baseline");
  });
});
