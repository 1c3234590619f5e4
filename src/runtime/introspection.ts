/** Read-only views of processes: per-process info and the whole tree, built without recursion. */
import type { Pid } from "./pid.js";
import type { Proc } from "./proc.js";
import { displayName } from "./registry.js";
import { AWAITING, DEAD, EXITING, RUNNING, type StatusName } from "./status.js";

export interface ProcessInfo {
  readonly pid: Pid;
  readonly names: readonly string[];
  readonly behaviour: string;
  readonly status: StatusName;
  readonly mailbox: number;
  readonly links: readonly Pid[];
  readonly monitors: number;
  readonly monitoredBy: number;
  readonly trapExit: boolean;
  readonly restarts: number;
  readonly parent: Pid | undefined;
  readonly timers: number;
  readonly resources: number;
}

export interface TreeNode {
  readonly pid: string;
  readonly name: string | undefined;
  readonly behaviour: string;
  readonly status: StatusName;
  readonly mailbox: number;
  readonly restarts: number;
  /** Supervisors: their children in start order. Other processes: those they spawned, if any. */
  readonly children: TreeNode[];
}

export function statusOf(proc: Proc): StatusName {
  switch (proc.status) {
    case DEAD:
      return "dead";
    case EXITING:
      return "exiting";
    case RUNNING:
      return "running";
    case AWAITING:
      return proc.ready ? "awaiting" : "starting";
    default:
      if (!proc.ready) return "starting";
      return proc.queued || proc.mailbox.size > 0 ? "runnable" : "waiting";
  }
}

export function processInfo(proc: Proc): ProcessInfo {
  return {
    pid: proc.pid,
    names: (proc.names ?? []).map(displayName),
    behaviour: proc.impl.name,
    status: statusOf(proc),
    mailbox: proc.mailbox.size,
    links: [...(proc.links ?? [])].map((p) => p.pid),
    monitors: proc.monitorsOut?.size ?? 0,
    monitoredBy: proc.monitorsIn?.size ?? 0,
    trapExit: proc.trapping,
    restarts: proc.restarts,
    parent: proc.parent,
    timers: proc.timers?.size ?? 0,
    resources: proc.resources?.length ?? 0,
  };
}

/**
 * The process tree: roots are processes without a live parent. Depth is capped (spawn chains
 * can be 10,000 deep): a node deeper than maxDepth is listed as a root instead.
 */
export function buildTree(procs: Iterable<Proc>, maxDepth: number): TreeNode[] {
  const nodes = new Map<Proc, TreeNode>();
  const all: Proc[] = [];
  for (const proc of procs) {
    all.push(proc);
    nodes.set(proc, {
      pid: proc.pid.toString(),
      name: proc.names?.[0] === undefined ? undefined : displayName(proc.names[0]),
      behaviour: proc.impl.name,
      status: statusOf(proc),
      mailbox: proc.mailbox.size,
      restarts: proc.restarts,
      children: [],
    });
  }
  const kids = new Map<Proc, Proc[]>();
  const roots: Proc[] = [];
  for (const proc of all) {
    const parent = proc.parent?.proc;
    if (parent === undefined || !nodes.has(parent)) roots.push(proc);
    else {
      let list = kids.get(parent);
      if (list === undefined) kids.set(parent, (list = []));
      list.push(proc);
    }
  }
  const out: TreeNode[] = [];
  const queue: { proc: Proc; depth: number }[] = roots.map((proc) => ({ proc, depth: 0 }));
  for (let i = 0; i < queue.length; i++) {
    const { proc, depth } = queue[i] as { proc: Proc; depth: number };
    const node = nodes.get(proc) as TreeNode;
    if (depth === 0) out.push(node);
    const children = orderChildren(proc, kids.get(proc) ?? []);
    for (const child of children) {
      if (depth + 1 > maxDepth) queue.push({ proc: child, depth: 0 });
      else {
        node.children.push(nodes.get(child) as TreeNode);
        queue.push({ proc: child, depth: depth + 1 });
      }
    }
  }
  return out;
}

function orderChildren(proc: Proc, children: Proc[]): Proc[] {
  const order = proc.impl.children?.(proc);
  if (order === undefined) return children;
  const rank = new Map<Pid, number>();
  order.forEach((pid, i) => rank.set(pid, i));
  return [...children].sort((a, b) => (rank.get(a.pid) ?? Infinity) - (rank.get(b.pid) ?? Infinity) || a.pid.id - b.pid.id);
}
