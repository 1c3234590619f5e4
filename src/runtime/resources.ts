/**
 * Owned resources: what an actor adopts is closed when it exits, whatever the reason (even
 * kill), newest first. A resource is a cleanup function or an object with destroy(), close(),
 * terminate() or abort() (sockets, file handles, workers, Node timers, AbortControllers, xstate actors use stop()).
 */
export type Resource =
  | (() => unknown)
  | { destroy(): unknown }
  | { close(): unknown }
  | { terminate(): unknown }
  | { stop(): unknown }
  | { abort(): unknown };

type Closer = (resource: Resource) => unknown;

/** The method that closes this resource, or undefined if it has none (refused at adoption). */
export function closerOf(resource: unknown): Closer | undefined {
  if (typeof resource === "function") return (r) => (r as () => unknown)();
  if (typeof resource !== "object" || resource === null) return undefined;
  for (const method of ["destroy", "close", "terminate", "stop", "abort"] as const) {
    if (typeof (resource as Record<string, unknown>)[method] === "function") {
      return (r) => (r as unknown as Record<string, () => unknown>)[method]?.();
    }
  }
  return undefined;
}

/** Closes one resource; a throw or a rejected promise is passed to onError, never escapes. */
export function closeResource(resource: Resource, onError: (error: unknown) => void): void {
  const close = closerOf(resource);
  if (close === undefined) return;
  try {
    const result = close(resource);
    if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
      (result as PromiseLike<unknown>).then(undefined, onError);
    }
  } catch (error) {
    onError(error);
  }
}
