/**
 * Where a V8 .cpuprofile (node --cpu-prof) spent its time: self time per function and per
 * file, as a share of all samples and of the non-idle ones. Compiled locations are mapped
 * back to the TypeScript source through the .js.map beside each file when there is one.
 *
 *   node dist/bench/pair/cpuProfile.js <file.cpuprofile> [top=25]
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { basename, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly where: string;
  readonly ms: number;
  readonly percent: number;
  readonly percentBusy: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly functions: readonly SelfTime[];
  readonly files: readonly SelfTime[];
  /**
   * Each sample charged to the innermost frame of the project's own code on its stack (not
   * node:, node_modules or natives): which of our functions the library and native time
   * (a write, a hash update) was spent for.
   */
  readonly ownCode: readonly SelfTime[];
}

/**
 * Samples that are not work: V8's "(idle)" (the event loop waiting), and piscina's worker
 * loop, which blocks its thread in Atomics.wait between tasks (sampled as JS, but no CPU).
 */
const WAITING = new Set(["(idle)", "atomicsWaitLoop"]);

export function parseCpuProfile(text: string): CpuProfile {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || !("nodes" in value) || !("samples" in value) || !("timeDeltas" in value)) {
    throw new Error("not a .cpuprofile: nodes, samples and timeDeltas expected");
  }
  const { nodes, samples, timeDeltas } = value;
  if (!Array.isArray(nodes) || !Array.isArray(samples) || !Array.isArray(timeDeltas)) throw new Error("not a .cpuprofile: arrays expected");
  return { nodes: nodes as ProfileNode[], samples: samples as number[], timeDeltas: timeDeltas as number[] };
}

export function summarizeCpuProfile(profile: CpuProfile, root: string, top: number): ProfileSummary {
  const frames = new Map<number, CallFrame>(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i: charge it to the frame sampled at i.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0)));
  const locate = sourceLocator(root);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byOwnCode = new Map<string, number>();
  const keyOf = (frame: CallFrame): { key: string; file: string; own: boolean } => {
    const { file, line } = locate(frame);
    const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
    const own = file !== "" && !file.startsWith("node:") && !file.startsWith("node_modules/") && !file.startsWith("..");
    return { key: file === "" ? name : `${file}:${line} ${name}`, file: file === "" ? name : file, own };
  };
  const ownFrameOf = (id: number): string => {
    // Bounded by the tree's depth; a cycle (a malformed profile) stops at the node count.
    let at: number | undefined = id;
    for (let steps = 0; at !== undefined && steps < profile.nodes.length; steps++) {
      const frame = frames.get(at);
      if (frame !== undefined) {
        const k = keyOf(frame);
        if (k.own) return k.key;
      }
      at = parents.get(at);
    }
    return "(no own frame on the stack: start-up, GC, natives)";
  };
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = frames.get(id);
    if (frame === undefined) continue;
    totalUs += us;
    if (WAITING.has(frame.functionName)) {
      idleUs += us;
      continue;
    }
    const { key, file } = keyOf(frame);
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const own = ownFrameOf(id);
    byOwnCode.set(own, (byOwnCode.get(own) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, ms: us / 1000, percent: (100 * us) / totalUs, percentBusy: (100 * us) / busyUs }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions: rank(byFunction), files: rank(byFile), ownCode: rank(byOwnCode) };
}

/** Maps a frame to "path/relative/to/root.ts" and a 1-based source line, via the .js.map if present. */
function sourceLocator(root: string): (frame: CallFrame) => { file: string; line: number } {
  const maps = new Map<string, SourceMap | undefined>();
  return (frame) => {
    if (!frame.url.startsWith("file://")) return { file: frame.url.startsWith("node:") ? frame.url : frame.url === "" ? "" : frame.url, line: frame.lineNumber + 1 };
    const jsPath = fileURLToPath(frame.url);
    if (!maps.has(jsPath)) {
      const mapPath = `${jsPath}.map`;
      maps.set(jsPath, existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")) as ConstructorParameters<typeof SourceMap>[0]) : undefined);
    }
    const map = maps.get(jsPath);
    const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry !== undefined && "originalSource" in entry && typeof entry.originalSource === "string") {
      const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : entry.originalSource;
      const resolved = source.startsWith("/") ? source : new URL(source, pathToFileURL(jsPath)).pathname;
      return { file: shown(root, resolved), line: entry.originalLine + 1 };
    }
    return { file: shown(root, jsPath), line: frame.lineNumber + 1 };
  };
}

/** "main thread" or "worker thread N", from node's --cpu-prof file name CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile. */
export function threadOf(fileName: string): string {
  const thread = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(fileName)?.[1];
  return thread === undefined ? "thread ?" : thread === "0" ? "main thread" : `worker thread ${thread}`;
}

/** A dependency from node_modules/ on (wherever a symlink put it), our files relative to the root. */
function shown(root: string, path: string): string {
  const at = path.lastIndexOf("/node_modules/");
  return at >= 0 ? path.slice(at + 1) : relative(root, path);
}

export function formatProfile(summary: ProfileSummary): string {
  const busy = summary.totalMs - summary.idleMs;
  const lines = [`profiled ${summary.totalMs.toFixed(0)} ms, ${busy.toFixed(0)} ms busy (idle and Atomics.wait left out); self time, % of busy:`, "  by function:"];
  for (const f of summary.functions) lines.push(`    ${f.percentBusy.toFixed(1).padStart(5)} %  ${f.ms.toFixed(0).padStart(6)} ms  ${f.where}`);
  lines.push("  by file:");
  for (const f of summary.files) lines.push(`    ${f.percentBusy.toFixed(1).padStart(5)} %  ${f.ms.toFixed(0).padStart(6)} ms  ${f.where}`);
  lines.push("  by the innermost swarmsup function on the stack (its own time plus the library/native calls it made):");
  for (const f of summary.ownCode) lines.push(`    ${f.percentBusy.toFixed(1).padStart(5)} %  ${f.ms.toFixed(0).padStart(6)} ms  ${f.where}`);
  return lines.join("\n");
}

const invokedAs = process.argv[1];
if (invokedAs !== undefined && import.meta.url === pathToFileURL(invokedAs).href) {
  const [file, topText] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write("usage: node dist/bench/pair/cpuProfile.js <file.cpuprofile> [top=25]\n");
    process.exit(2);
  }
  const root = process.cwd();
  process.stdout.write(`${threadOf(basename(file))}: ${formatProfile(summarizeCpuProfile(parseCpuProfile(readFileSync(file, "utf8")), root, Number(topText ?? 25)))}\n`);
}
