/** `swarmsup demo` (the built CLI): the restart and the escalation it narrates really happen. */
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliRun } from "../storage/runCli.js";

interface Row {
  readonly pid: string;
  readonly restarts: number;
}

/** The tree printed under step `step`, as name -> row. */
function treeAt(stdout: string, step: number): Map<string, Row> {
  const section = stdout.split(/^(?=\d\. )/m).find((part) => part.startsWith(`${step}. `));
  if (section === undefined) throw new Error(`no step ${step} in:\n${stdout}`);
  const rows = new Map<string, Row>();
  for (const match of section.matchAll(/^[\s│├└─]*(\w+)\s+(<\d+\.\d+>)\s+\w+\s+restarts (\d+)/gm)) {
    rows.set(match[1] as string, { pid: match[2] as string, restarts: Number(match[3]) });
  }
  return rows;
}

function row(tree: Map<string, Row>, name: string): Row {
  const found = tree.get(name);
  if (found === undefined) throw new Error(`${name} is not in the tree: ${JSON.stringify([...tree.keys()])}`);
  return found;
}

describe("swarmsup demo", () => {
  let run: CliRun;
  beforeAll(async () => {
    run = await runCli(["demo"]);
  });

  it("exits 0 with nothing on stderr", () => {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("prints the whole tree, supervisors listing their children in start order", () => {
    const tree = treeAt(run.stdout, 1);
    expect([...tree.keys()]).toEqual(["demo_sup", "counter", "greeter", "inner_sup", "db", "cache"]);
    expect([...tree.values()].every((r) => r.restarts === 0)).toBe(true);
  });

  it("shows a crashed worker restarted under a new pid, its siblings untouched", () => {
    const before = treeAt(run.stdout, 1);
    const after = treeAt(run.stdout, 3);
    const oldPid = row(before, "greeter").pid;
    const newPid = row(after, "greeter").pid;
    expect(newPid).not.toBe(oldPid);
    expect(row(after, "greeter").restarts).toBe(1);
    expect(run.stdout).toContain(`crash report: greeter ${oldPid} crashed: error: Error: greeter was asked to crash`);
    expect(run.stdout).toContain(`exited     greeter ${oldPid}: error`);
    expect(run.stdout).toContain(`restarted  greeter -> ${newPid}  (restart 1, by demo_sup)`);
    for (const sibling of ["counter", "inner_sup", "db", "cache"]) expect(row(after, sibling)).toEqual(row(before, sibling));
  });

  it("shows the nested supervisor escalating and its parent restarting it with fresh children", () => {
    const before = treeAt(run.stdout, 3);
    const after = treeAt(run.stdout, 6);
    const oldInner = row(before, "inner_sup").pid;
    const newInner = row(after, "inner_sup").pid;
    expect(newInner).not.toBe(oldInner);
    expect(row(after, "inner_sup").restarts).toBe(1);
    expect(run.stdout).toContain(`escalated  inner_sup ${oldInner}: reached_max_restart_intensity`);
    expect(run.stdout).toContain(`exited     inner_sup ${oldInner}: shutdown`);
    expect(run.stdout).toContain(`restarted  inner_sup -> ${newInner}  (restart 1, by demo_sup)`);
    expect(row(after, "db").pid).not.toBe(row(before, "db").pid);
    expect(row(after, "cache").pid).not.toBe(row(before, "cache").pid);
    // The escalation comes after the crash it was caused by, and before the parent's restart.
    const escalation = run.stdout.indexOf("escalated  inner_sup");
    expect(escalation).toBeGreaterThan(run.stdout.indexOf("5. "));
    expect(run.stdout.indexOf("restarted  inner_sup")).toBeGreaterThan(escalation);
  });

  it("rest_for_one restarts the killed child and the one after it", () => {
    const step4 = run.stdout.slice(run.stdout.indexOf("4. "), run.stdout.indexOf("5. "));
    expect(step4).toMatch(/exited {5}db <\d+\.\d+>: killed/);
    expect(step4).toMatch(/exited {5}cache <\d+\.\d+>: shutdown/);
    expect(step4).toMatch(/restarted {2}db -> /);
    expect(step4).toMatch(/restarted {2}cache -> /);
  });

  it("keeps the uninvolved worker's pid and state through everything", () => {
    expect(row(treeAt(run.stdout, 6), "counter")).toEqual(row(treeAt(run.stdout, 1), "counter"));
    expect(run.stdout).toContain("count = 3");
  });
});
