/** The runtime used when none is given: the current actor's, else a process-wide default. */
import { currentProc } from "./proc.js";
import { Runtime } from "./runtime.js";

let fallback: Runtime | undefined;

/** The process-wide default runtime (real clock, shared scheduler), created on first use. */
export function defaultRuntime(): Runtime {
  return (fallback ??= new Runtime({ label: "default" }));
}

/**
 * The runtime of the actor whose turn is running (its synchronous part), else the default.
 * After an `await` inside a handler there is no current actor: in multi-runtime code, use
 * `ctx.runtime` or pass `runtime` explicitly.
 */
export function currentRuntime(): Runtime {
  return currentProc()?.rt ?? defaultRuntime();
}
