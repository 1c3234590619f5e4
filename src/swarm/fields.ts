/**
 * Reading untrusted objects field by field (messages between the swarm's processes):
 * each reader returns the typed value or throws FieldError naming where and what.
 */
export class FieldError extends Error {
  constructor(where: string, what: string) {
    super(`${where}: ${what}`);
    this.name = "FieldError";
  }
}

export type Fields = Readonly<Record<string, unknown>>;

export function fields(value: unknown, where: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new FieldError(where, "not an object");
  return value as Fields;
}

export function intValue(v: unknown, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) throw new FieldError(where, `not an integer in ${min}..${max}: ${String(v)}`);
  return v;
}

export function int(o: Fields, key: string, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  return intValue(o[key], `${where}.${key}`, min, max);
}

export function num(o: Fields, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new FieldError(`${where}.${key}`, `not a finite number: ${String(v)}`);
  return v;
}

export function stringValue(v: unknown, where: string, maxLength = 4096): string {
  if (typeof v !== "string" || v.length > maxLength) throw new FieldError(where, `not a string of at most ${maxLength} characters`);
  return v;
}

export function str(o: Fields, key: string, where: string, maxLength = 4096): string {
  return stringValue(o[key], `${where}.${key}`, maxLength);
}

export function bool(o: Fields, key: string, where: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new FieldError(`${where}.${key}`, "not a boolean");
  return v;
}

export function oneOf<T extends string>(o: Fields, key: string, where: string, values: readonly T[]): T {
  const v = o[key];
  const found = values.find((x) => x === v);
  if (found === undefined) throw new FieldError(`${where}.${key}`, `not one of ${values.join(", ")}: ${String(v)}`);
  return found;
}

/** A bounded array, each element read by `item`. */
export function list<T>(o: Fields, key: string, where: string, maxItems: number, item: (v: unknown, at: string) => T): T[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > maxItems) throw new FieldError(`${where}.${key}`, `not an array of at most ${maxItems} items`);
  return v.map((x, i) => item(x, `${where}.${key}[${i}]`));
}

/** Absent (or null) -> undefined; present -> read. */
export function optional<T>(o: Fields, key: string, read: (o: Fields) => T): T | undefined {
  return o[key] === undefined || o[key] === null ? undefined : read(o);
}
