/**
 * Analyzer / executor helpers. A handler is written as a pure `analyze(state, msg) -> Verdict`
 * (a tagged union carrying its evidence) and an `execute(verdict)` that switches on `kind`
 * exhaustively; `assertNever` makes a forgotten case a type error, and `match` is the
 * expression form of that switch.
 */

/** The default branch of an exhaustive switch: a compile error if a case is missing, a throw if reached anyway. */
export function assertNever(value: never, what = "variant"): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new TypeError(`unhandled ${what}: ${shown}`);
}

type Tagged = { readonly kind: string };

/** One handler per `kind`, each receiving the narrowed variant. Missing or extra keys are type errors. */
export type Cases<T extends Tagged, R> = { readonly [K in T["kind"]]: (value: Extract<T, { kind: K }>) => R };

export function match<T extends Tagged, R>(value: T, cases: Cases<T, R>): R {
  const handler = (cases as unknown as Record<string, ((v: T) => R) | undefined>)[value.kind];
  if (handler === undefined) return assertNever(value as never, "kind");
  return handler(value);
}
