/**
 * Names and groups of one runtime (a local gproc).
 *
 * - A name is a string or a structured key (`["torrent", infohashHex]`, `["peer", ih, addr]`),
 *   compared by value through a canonical string. One name, one live process.
 * - Array names are indexed by their prefixes: `match(["peer", ih, "*"])` lists every process
 *   registered under `["peer", ih, ...]`. A trailing "*" is the only wildcard.
 * - Explicit groups (`join`/`members`) hold many processes under one key.
 * - Everything a process holds is released when it exits.
 */
import { BadArgError, NameTakenError } from "./errors.js";
import type { Pid } from "./pid.js";
import type { Proc } from "./proc.js";
import { DEAD } from "./status.js";

export type NamePart = string | number;
export type Name = string | readonly NamePart[];

const MAX_NAME_PARTS = 16;
const MAX_KEY_LENGTH = 4096;

/** The canonical key of a name; throws BadArgError for a malformed one. */
export function nameKey(name: Name): string {
  if (typeof name === "string") {
    if (name.length === 0 || name.length > MAX_KEY_LENGTH) throw new BadArgError(`invalid name: string of length ${name.length}`);
    return JSON.stringify(name);
  }
  if (!Array.isArray(name) || name.length === 0 || name.length > MAX_NAME_PARTS) {
    throw new BadArgError(`invalid name: expected a string or an array of 1..${MAX_NAME_PARTS} strings/numbers`);
  }
  for (const part of name as readonly unknown[]) {
    if (typeof part !== "string" && !(typeof part === "number" && Number.isFinite(part))) {
      throw new BadArgError(`invalid name part ${String(part)}: expected a string or a finite number`);
    }
  }
  const key = JSON.stringify(name);
  if (key.length > MAX_KEY_LENGTH) throw new BadArgError(`invalid name: key longer than ${MAX_KEY_LENGTH}`);
  return key;
}

/** A short display form: `torrent/ab12…` style is left to callers; this is the canonical key without quotes for strings. */
export function displayName(name: Name): string {
  return typeof name === "string" ? name : name.map(String).join("/");
}

function prefixKeys(name: readonly NamePart[]): string[] {
  const keys: string[] = [];
  for (let k = 1; k < name.length; k++) keys.push(JSON.stringify(name.slice(0, k)));
  return keys;
}

export class Registry {
  private readonly names = new Map<string, Proc>();
  private readonly prefixes = new Map<string, Set<Proc>>();
  private readonly groups = new Map<string, Set<Proc>>();

  register(name: Name, proc: Proc): void {
    const key = nameKey(name);
    if (proc.status === DEAD) throw new BadArgError(`register ${key}: process ${proc.pid.toString()} is dead`);
    const holder = this.names.get(key);
    if (holder !== undefined) throw new NameTakenError(key, holder.pid);
    this.names.set(key, proc);
    (proc.names ??= []).push(name);
    if (typeof name !== "string") {
      for (const prefix of prefixKeys(name)) addTo(this.prefixes, prefix, proc);
    }
  }

  /** Releases name if proc holds it; returns whether it did. */
  unregisterOwn(name: Name, proc: Proc): boolean {
    const key = nameKey(name);
    if (this.names.get(key) !== proc) return false;
    this.dropName(key, name, proc);
    const own = proc.names;
    if (own !== undefined) {
      const index = own.findIndex((n) => nameKey(n) === key);
      if (index >= 0) own.splice(index, 1);
    }
    return true;
  }

  /** Releases name whoever holds it; returns whether it was registered. */
  unregister(name: Name): boolean {
    const holder = this.names.get(nameKey(name));
    return holder === undefined ? false : this.unregisterOwn(name, holder);
  }

  lookup(name: Name): Proc | undefined {
    return this.names.get(nameKey(name));
  }

  whereis(name: Name): Pid | undefined {
    return this.lookup(name)?.pid;
  }

  /** Pids whose name equals pattern, or starts with it when its last part is "*". */
  match(pattern: readonly NamePart[]): Pid[] {
    if (pattern.length > 0 && pattern[pattern.length - 1] === "*") {
      const prefix = pattern.slice(0, -1);
      if (prefix.length === 0) return [...this.names.values()].map((p) => p.pid);
      return [...(this.prefixes.get(nameKey(prefix)) ?? [])].map((p) => p.pid);
    }
    const pid = this.whereis(pattern);
    return pid === undefined ? [] : [pid];
  }

  /** Every registered name with its pid. */
  registered(): { key: string; pid: Pid }[] {
    return [...this.names].map(([key, proc]) => ({ key, pid: proc.pid }));
  }

  join(group: Name, proc: Proc): void {
    const key = nameKey(group);
    if (proc.status === DEAD) return;
    const members = this.groups.get(key);
    if (members?.has(proc) === true) return;
    addTo(this.groups, key, proc);
    (proc.groups ??= []).push(group);
  }

  leave(group: Name, proc: Proc): void {
    const key = nameKey(group);
    removeFrom(this.groups, key, proc);
    const own = proc.groups;
    if (own !== undefined) {
      const index = own.findIndex((g) => nameKey(g) === key);
      if (index >= 0) own.splice(index, 1);
    }
  }

  members(group: Name): Pid[] {
    return [...(this.groups.get(nameKey(group)) ?? [])].map((p) => p.pid);
  }

  /** Called when proc exits. */
  removeProc(proc: Proc): void {
    const names = proc.names;
    if (names !== undefined) {
      proc.names = undefined;
      for (const name of names) {
        const key = nameKey(name);
        if (this.names.get(key) === proc) this.dropName(key, name, proc);
      }
    }
    const groups = proc.groups;
    if (groups !== undefined) {
      proc.groups = undefined;
      for (const group of groups) removeFrom(this.groups, nameKey(group), proc);
    }
  }

  private dropName(key: string, name: Name, proc: Proc): void {
    this.names.delete(key);
    if (typeof name !== "string") {
      for (const prefix of prefixKeys(name)) removeFrom(this.prefixes, prefix, proc);
    }
  }
}

function addTo(index: Map<string, Set<Proc>>, key: string, proc: Proc): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(proc);
}

function removeFrom(index: Map<string, Set<Proc>>, key: string, proc: Proc): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(proc);
  if (set.size === 0) index.delete(key);
}
