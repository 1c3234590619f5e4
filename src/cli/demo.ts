/**
 * `swarmsup demo`: a supervision tree for newcomers, in a few seconds of stdout.
 *
 * It starts demo_sup (one_for_one) with two workers and a nested rest_for_one supervisor,
 * prints the tree (runtime.snapshot()), crashes a worker and shows the restart (the runtime's
 * event stream and its crash reports), then kills a worker of the nested supervisor twice so
 * that it exceeds its restart intensity and escalates, and shows demo_sup restarting it.
 * Everything it shows comes from the runtime itself; each wait is bounded, so a runtime that
 * misbehaves makes the demo fail (exit 1) instead of hanging.
 */
import type { Command } from "commander";
import {
  defineServer,
  formatReason,
  noreply,
  ok,
  Reason,
  reply,
  Runtime,
  settle,
  startServer,
  startSupervisor,
  supervisorSpec,
  type LogSink,
  type Pid,
  type RuntimeEvent,
  type TreeNode,
} from "../runtime/index.js";
import { jobFailed } from "./errors.js";

const say = (line = ""): void => console.log(line);

/** A worker that counts casts, answers calls with its count, and throws when sent "crash". */
const worker = (name: string) =>
  defineServer<number, void, "count", "inc", unknown>({
    name,
    init: () => ok(0),
    handleCall: (_request, _from, count) => reply(count, count),
    handleCast: (_msg, count) => noreply(count + 1),
    handleInfo: (msg, count) => {
      if (msg === "crash") throw new Error(`${name} was asked to crash`);
      return noreply(count);
    },
  });

/** A child start function; the behaviour is built once, so every restart runs the same one. */
function startWorker(name: string): () => ReturnType<typeof startServer> {
  const behaviour = worker(name);
  return () => startServer(behaviour, undefined, { name });
}

const innerSup = supervisorSpec({
  name: "inner_sup",
  strategy: "rest_for_one",
  intensity: 1,
  period: 5000,
  children: [
    { id: "db", start: startWorker("db") },
    { id: "cache", start: startWorker("cache") },
  ],
});

const demoSup = supervisorSpec({
  name: "demo_sup",
  strategy: "one_for_one",
  intensity: 3,
  period: 5000,
  children: [
    { id: "counter", start: startWorker("counter") },
    { id: "greeter", start: startWorker("greeter") },
    { id: "inner_sup", type: "supervisor", start: () => startSupervisor(innerSup, { name: "inner_sup" }) },
  ],
});

/** What the snapshot cannot know: each supervisor's policy, for the tree picture. */
const NOTES: Readonly<Record<string, string>> = {
  demo_sup: "supervisor: one_for_one, at most 3 restarts in 5 s",
  inner_sup: "supervisor: rest_for_one, at most 1 restart in 5 s",
};

/** The tree as indented lines, built iteratively (depth is capped by the snapshot anyway). */
function treeLines(roots: readonly TreeNode[]): string[] {
  const lines: string[] = [];
  const stack: { node: TreeNode; prefix: string; branch: string }[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i] as TreeNode, prefix: "", branch: "" });
  while (stack.length > 0) {
    const { node, prefix, branch } = stack.pop() as (typeof stack)[number];
    const label = node.name ?? node.behaviour;
    const note = NOTES[label];
    const where = `${prefix}${branch}${label}`.padEnd(16);
    lines.push(`${where} ${node.pid.padEnd(7)} ${node.status.padEnd(8)} restarts ${node.restarts}${note === undefined ? "" : `   (${note})`}`);
    const childPrefix = prefix + (branch === "├─ " ? "│  " : branch === "" ? "" : "   ");
    for (let i = node.children.length - 1; i >= 0; i--) {
      stack.push({ node: node.children[i] as TreeNode, prefix: childPrefix, branch: i === node.children.length - 1 ? "└─ " : "├─ " });
    }
  }
  return lines;
}

/** Prints the tree once every actor is idle again (a supervisor still finishing its turn shows as "awaiting"). */
async function printTree(rt: Runtime, title: string): Promise<void> {
  await settle(rt.scheduler);
  say(title);
  for (const line of treeLines(rt.snapshot())) say(`   ${line}`);
  say();
}

/** One line per event; spawns are left out (every restart is one). */
function describeEvent(rt: Runtime, event: RuntimeEvent): string | undefined {
  const who = (pid: Pid): string => rt.info(pid)?.names[0] ?? pid.toString();
  switch (event.type) {
    case "spawned":
      return undefined;
    case "exited":
      return `event  exited     ${event.behaviour} ${event.pid.toString()}: ${formatReason(event.reason)}`;
    case "restarted":
      return `event  restarted  ${event.childId} -> ${event.pid?.toString() ?? "ignore"}  (restart ${event.restarts}, by ${who(event.supervisor)})`;
    case "restartFailed":
      return `event  restart failed  ${event.childId}: ${formatReason(event.reason)}  (restart ${event.restarts}, by ${who(event.supervisor)}; a retry is queued)`;
    case "escalated":
      return `event  escalated  ${who(event.supervisor)} ${event.supervisor.toString()}: ${event.cause} (${event.restarts} restarts within its period); it exits shutdown and its parent decides`;
  }
}

/** Crash and supervisor reports (rate-limited by the runtime), shortened to one line each. */
const reportSink: LogSink = {
  error: (obj) => say(`   log    ${describeReport(obj)}`),
  warn: (obj) => say(`   log    ${describeReport(obj)}`),
};

function describeReport(obj: object): string {
  const f = obj as Record<string, unknown>;
  const text = (key: string): string => (typeof f[key] === "string" ? (f[key] as string) : "");
  switch (f.report) {
    case "crash_report":
      return `crash report: ${text("name")} ${text("actor")} crashed: ${text("reason")}`;
    case "child_terminated":
      return `supervisor report: ${text("name")} saw child ${text("child")} ${text("actor")} exit: ${text("reason")}`;
    case "reached_max_restart_intensity":
      return `supervisor report: ${text("name")} reached max restart intensity, shutting down`;
    default:
      return `${String(f.report)}: ${text("reason")}`;
  }
}

const WAIT_MS = 5000;

/** Resolves with the first event that matches; rejects after WAIT_MS. */
function nextEvent<E extends RuntimeEvent>(rt: Runtime, matches: (event: RuntimeEvent) => event is E, what: string): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(jobFailed(`demo: no ${what} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const unsubscribe = rt.subscribe((event) => {
      if (!matches(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

type Restarted = Extract<RuntimeEvent, { type: "restarted" }>;
type Escalated = Extract<RuntimeEvent, { type: "escalated" }>;

const restartOf = (childId: string) => (event: RuntimeEvent): event is Restarted => event.type === "restarted" && event.childId === childId;
const isEscalation = (event: RuntimeEvent): event is Escalated => event.type === "escalated";

function pidOf(rt: Runtime, name: string): Pid {
  const pid = rt.whereis(name);
  if (pid === undefined) throw jobFailed(`demo: nothing is registered as ${name}`);
  return pid;
}

async function runDemo(): Promise<void> {
  const rt = new Runtime({ label: "demo", logger: reportSink });
  say("swarmsup demo: OTP supervision in one Node process (a pid reads <runtime.process>)");
  say();
  const root = await startSupervisor(demoSup, { runtime: rt, name: "demo_sup" });
  for (let i = 0; i < 3; i++) rt.cast("counter", "inc");
  await printTree(rt, "1. The tree, from runtime.snapshot():");

  const stopEcho = rt.subscribe((event) => {
    const line = describeEvent(rt, event);
    if (line !== undefined) say(`   ${line}`);
  });
  try {
    say(`2. greeter ${pidOf(rt, "greeter").toString()} throws in its handler (runtime.send("greeter", "crash")); demo_sup restarts it alone:`);
    const greeterBack = nextEvent(rt, restartOf("greeter"), "restart of greeter");
    rt.send("greeter", "crash");
    await greeterBack;
    say();
    await printTree(rt, "3. The tree again: greeter has a new pid and one restart; its siblings kept theirs:");

    say(`4. db ${pidOf(rt, "db").toString()} is killed (runtime.exit(db, kill)); rest_for_one stops cache, the child after it, and restarts both:`);
    const cacheBack = nextEvent(rt, restartOf("cache"), "restart of cache");
    rt.exit(pidOf(rt, "db"), Reason.kill);
    await cacheBack;
    say();
    say(`5. db ${pidOf(rt, "db").toString()} is killed again within 5 s: a second restart is more than inner_sup allows, so it escalates:`);
    const escalated = nextEvent(rt, isEscalation, "escalation");
    const innerBack = nextEvent(rt, restartOf("inner_sup"), "restart of inner_sup");
    rt.exit(pidOf(rt, "db"), Reason.kill);
    await escalated;
    await innerBack;
    say();
  } finally {
    stopEcho();
  }
  await printTree(rt, "6. The parent's reaction: demo_sup (one_for_one) restarted inner_sup, which started fresh children:");
  const count = await rt.call<number>("counter", "count");
  say(`counter kept its pid and its state through all of it (count = ${count}): a crash takes nothing else with it.`);
  await rt.stop(root, Reason.shutdown());
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("a supervision tree in action: a crash, a restart, an escalation (prints to stdout)")
    .action(runDemo);
}
