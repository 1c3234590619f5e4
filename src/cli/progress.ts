/**
 * The terminal progress bar of long commands (create, verify, get, seed's start-up
 * check, swarm). CLI.md: a bar on a terminal, nothing when stdout is not a TTY or
 * `--json` is given, so pipes and scripts see only the final summary. The bar draws on
 * stdout (the terminal the user watches; stderr carries pino's JSON logs) and clears
 * itself when stopped, so the summary line that follows stands alone.
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** `done` of `total` bytes; cheap to call often (the bar redraws at most ~10 times a second). */
  update(done: number, total: number): void;
  /** Removes the bar; idempotent. */
  stop(): void;
}

export type ProgressMode = { readonly kind: "bar" } | { readonly kind: "quiet"; readonly reason: "json" | "notATerminal" };

/** Pure: whether a command shows a bar. */
export function progressMode(json: boolean, stdoutIsTTY: boolean | undefined): ProgressMode {
  if (json) return { kind: "quiet", reason: "json" };
  if (stdoutIsTTY !== true) return { kind: "quiet", reason: "notATerminal" };
  return { kind: "bar" };
}

export interface ProgressOptions {
  /** What is being done ("hashing", "verifying", "downloading"). */
  readonly label: string;
  readonly json: boolean;
  /** Default process.stdout. */
  readonly stream?: NodeJS.WriteStream;
  /** Default Date.now (tests inject a clock for the rate). */
  readonly now?: () => number;
}

export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stdout;
  const mode = progressMode(options.json, stream.isTTY);
  switch (mode.kind) {
    case "quiet":
      return { update: () => undefined, stop: () => undefined };
    case "bar":
      return terminalBar(options.label, stream, options.now ?? Date.now);
    default: {
      const never: never = mode;
      throw new Error(`unknown progress mode ${JSON.stringify(never)}`);
    }
  }
}

function terminalBar(label: string, stream: NodeJS.WriteStream, now: () => number): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {doneText} / {totalText} | {rateText} | ETA {eta_formatted}`,
      barCompleteChar: "#",
      barIncompleteChar: "-",
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
      etaBuffer: 50,
    },
    cliProgress.Presets.legacy,
  );
  const startedAt = now();
  let started = false;
  let stopped = false;
  return {
    update(done, total) {
      if (stopped) return;
      const seconds = Math.max(1e-3, (now() - startedAt) / 1000);
      const payload = { doneText: formatBytes(done), totalText: formatBytes(total), rateText: `${formatBytes(done / seconds)}/s` };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
        return;
      }
      if (bar.getTotal() !== total) bar.setTotal(total);
      bar.update(done, payload);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** 1536 -> "1.5 KiB": binary units, at most one decimal. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit] ?? "B"}`;
}
