/**
 * Property tests: random supervision trees (strategies, intensities, nested supervisors,
 * restart types) under random crash schedules (which worker, which reason, how much time
 * passes) must behave exactly like a small independent model of OTP's rules. The journal of
 * starts and stops (order included) is compared, then the whole tree is shut down and nothing
 * may outlive it: no process, no timer, no adopted resource.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classifyReason,
  ExitMsg,
  Reason,
  startSupervisor,
  supervisorSpec,
  type ChildSpec,
  type ExitReason,
  type Pid,
  type RestartType,
} from "../../src/runtime/index.js";
import { harness } from "./harness.js";
import { world, type World } from "./supWorld.js";

type LinearStrategy = "one_for_one" | "one_for_all" | "rest_for_one";

type NodeSpec =
  | { readonly kind: "worker"; readonly id: string; readonly restart: RestartType }
  | {
      readonly kind: "sup";
      readonly id: string;
      readonly restart: RestartType;
      readonly strategy: LinearStrategy;
      readonly intensity: number;
      readonly period: number;
      readonly children: readonly NodeSpec[];
    };

type SupSpec = Extract<NodeSpec, { kind: "sup" }>;

type CrashKind = "normal" | "shutdown" | "shutdown_detail" | "error" | "kill";

interface Step {
  readonly pick: number;
  readonly crash: CrashKind;
  readonly advanceMs: number;
}

// ---- generators -----------------------------------------------------------------------------

const restartArb = fc.constantFrom<RestartType>("permanent", "transient", "temporary");
const strategyArb = fc.constantFrom<LinearStrategy>("one_for_one", "one_for_all", "rest_for_one");

/** Shapes only; ids are assigned afterwards by path so they are unique. */
type Shape = { kind: "worker"; restart: RestartType } | { kind: "sup"; restart: RestartType; strategy: LinearStrategy; intensity: number; period: number; children: Shape[] };

function shapeArb(depth: number): fc.Arbitrary<Shape> {
  const worker = restartArb.map((restart): Shape => ({ kind: "worker", restart }));
  if (depth === 0) return worker;
  const sup = fc
    .record({
      restart: restartArb,
      strategy: strategyArb,
      intensity: fc.integer({ min: 0, max: 3 }),
      period: fc.constantFrom(1000, 5000),
      children: fc.array(shapeArb(depth - 1), { minLength: 1, maxLength: 3 }),
    })
    .map((s): Shape => ({ kind: "sup", ...s }));
  return fc.oneof({ weight: 3, arbitrary: worker }, { weight: 1, arbitrary: sup });
}

function withIds(shape: Shape, path: string): NodeSpec {
  if (shape.kind === "worker") return { kind: "worker", id: `w${path}`, restart: shape.restart };
  return { ...shape, id: `s${path}`, children: shape.children.map((c, i) => withIds(c, `${path}.${i}`)) };
}

const treeArb: fc.Arbitrary<SupSpec> = fc
  .record({
    strategy: strategyArb,
    intensity: fc.integer({ min: 0, max: 4 }),
    period: fc.constantFrom(1000, 5000),
    children: fc.array(shapeArb(1), { minLength: 1, maxLength: 4 }),
  })
  .map((root) => ({ kind: "sup", id: "root", restart: "permanent", ...root, children: root.children.map((c, i) => withIds(c, `${i}`)) }) as SupSpec);

const stepArb: fc.Arbitrary<Step> = fc.record({
  pick: fc.nat({ max: 100 }),
  crash: fc.constantFrom<CrashKind>("normal", "shutdown", "shutdown_detail", "error", "error", "kill"),
  advanceMs: fc.constantFrom(0, 0, 400, 3000),
});

// ---- the model: OTP's rules, written independently of the runtime ---------------------------

interface ModelChild {
  readonly spec: NodeSpec;
  running: boolean;
  sub: ModelSup | undefined;
}

interface ModelSup {
  readonly spec: SupSpec;
  readonly children: ModelChild[];
  window: number[];
  parent: { sup: ModelSup; child: ModelChild } | undefined;
}

class Model {
  readonly journal: string[] = [];
  rootAlive = true;
  readonly root: ModelSup;
  now = 0;

  constructor(spec: SupSpec) {
    this.root = this.startSup(spec, undefined);
  }

  private startSup(spec: SupSpec, parent: ModelSup["parent"]): ModelSup {
    const sup: ModelSup = { spec, children: [], window: [], parent };
    for (const childSpec of spec.children) {
      const child: ModelChild = { spec: childSpec, running: false, sub: undefined };
      sup.children.push(child);
      this.startChild(sup, child);
    }
    return sup;
  }

  private startChild(sup: ModelSup, child: ModelChild): void {
    child.running = true;
    if (child.spec.kind === "worker") this.journal.push(`start:${child.spec.id}`);
    else child.sub = this.startSup(child.spec, { sup, child });
  }

  /** The supervisor stops a running child (shutdown). */
  private stopChild(child: ModelChild): void {
    if (!child.running) return;
    child.running = false;
    if (child.spec.kind === "worker") this.journal.push(`stop:${child.spec.id}:shutdown`);
    else if (child.sub !== undefined) this.stopAll(child.sub);
    child.sub = undefined;
  }

  stopAll(sup: ModelSup): void {
    for (let i = sup.children.length - 1; i >= 0; i--) this.stopChild(sup.children[i] as ModelChild);
  }

  /** Running workers anywhere in the tree, in a stable order. */
  workers(): { id: string }[] {
    const out: { id: string }[] = [];
    const walk = (sup: ModelSup): void => {
      for (const c of sup.children) {
        if (!c.running) continue;
        if (c.spec.kind === "worker") out.push({ id: c.spec.id });
        else if (c.sub !== undefined) walk(c.sub);
      }
    };
    if (this.rootAlive) walk(this.root);
    return out;
  }

  /** Worker id exits by itself with reason (its own terminate line is written unless killed). */
  crashWorker(id: string, crash: CrashKind): void {
    const found = this.find(this.root, id);
    if (found === undefined) throw new Error(`model: no running worker ${id}`);
    if (crash !== "kill") this.journal.push(`stop:${id}:${reasonOf(crash).kind}`);
    found.child.running = false;
    this.childExited(found.sup, found.child, reasonOf(crash));
  }

  private find(sup: ModelSup, id: string): { sup: ModelSup; child: ModelChild } | undefined {
    for (const child of sup.children) {
      if (!child.running) continue;
      if (child.spec.id === id) return { sup, child };
      if (child.sub !== undefined) {
        const inner = this.find(child.sub, id);
        if (inner !== undefined) return inner;
      }
    }
    return undefined;
  }

  private childExited(sup: ModelSup, child: ModelChild, reason: ExitReason): void {
    child.running = false;
    child.sub = undefined;
    const restart = child.spec.restart;
    if (restart === "temporary") {
      sup.children.splice(sup.children.indexOf(child), 1);
      return;
    }
    if (restart === "transient" && classifyReason(reason) !== "abnormal") return;
    sup.window = sup.window.filter((t) => t > this.now - sup.spec.period);
    sup.window.push(this.now);
    if (sup.window.length > sup.spec.intensity) {
      this.stopAll(sup);
      this.supExited(sup);
      return;
    }
    const index = sup.children.indexOf(child);
    const group = sup.spec.strategy === "one_for_one" ? [child] : sup.spec.strategy === "one_for_all" ? [...sup.children] : sup.children.slice(index);
    for (let i = group.length - 1; i >= 0; i--) {
      const sibling = group[i] as ModelChild;
      if (sibling !== child) this.stopChild(sibling);
    }
    for (const sibling of group) {
      if (sibling !== child && sibling.spec.restart === "temporary") sup.children.splice(sup.children.indexOf(sibling), 1);
    }
    for (const member of group) {
      if (member === child || member.spec.restart !== "temporary") this.startChild(sup, member);
    }
  }

  private supExited(sup: ModelSup): void {
    if (sup.parent === undefined) {
      this.rootAlive = false;
      return;
    }
    this.childExited(sup.parent.sup, sup.parent.child, Reason.shutdown());
  }
}

function reasonOf(crash: CrashKind): ExitReason {
  switch (crash) {
    case "normal":
      return Reason.normal;
    case "shutdown":
      return Reason.shutdown();
    case "shutdown_detail":
      return Reason.shutdown("detail");
    case "error":
      return Reason.error("boom");
    case "kill":
      return Reason.killed;
  }
}

// ---- the real thing -------------------------------------------------------------------------

function childSpecOf(node: NodeSpec, w: World): ChildSpec {
  if (node.kind === "worker") return w.worker(node.id, { restart: node.restart });
  return { id: node.id, type: "supervisor", restart: node.restart, start: () => startSupervisor(supSpecOf(node, w)) };
}

function supSpecOf(node: SupSpec, w: World) {
  return supervisorSpec({
    name: node.id,
    strategy: node.strategy,
    intensity: node.intensity,
    period: node.period,
    children: node.children.map((c) => childSpecOf(c, w)),
  });
}

describe("supervision trees under random crash schedules", () => {
  it("restart, stop order, intensity and escalation follow OTP's rules; nothing outlives the tree", async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (tree, steps) => {
        const h = harness();
        const w = world(h);
        const parentExits: ExitMsg[] = [];
        let root: Pid | undefined;
        const parent = h.rt.spawn(
          async (msg) => {
            if (msg === "start") root = await startSupervisor(supSpecOf(tree, w));
            else if (msg instanceof ExitMsg) parentExits.push(msg);
          },
          { trapExit: true },
        );
        h.rt.send(parent, "start");
        await h.settle();
        const model = new Model(tree);
        expect(w.journal).toEqual(model.journal);

        for (const step of steps) {
          const running = model.workers();
          if (running.length > 0) {
            const target = running[step.pick % running.length] as { id: string };
            if (step.crash === "kill") h.rt.exit(w.pidOf(target.id) as Pid, Reason.kill);
            else w.crash(target.id, reasonOf(step.crash));
            model.crashWorker(target.id, step.crash);
            await h.settle();
            expect(w.journal).toEqual(model.journal);
            expect(h.rt.isAlive(root as Pid)).toBe(model.rootAlive);
            // each live worker owns exactly one resource and one timer
            expect(w.openResources()).toBe(model.workers().length);
            expect(h.clock.pending).toBe(model.workers().length);
          }
          await h.advance(step.advanceMs);
          model.now += step.advanceMs;
          if (!model.rootAlive) break;
        }

        // escalation reached the parent as an orderly shutdown, and only then
        expect(parentExits.map((e) => e.reason)).toEqual(model.rootAlive ? [] : [Reason.shutdown()]);

        if (model.rootAlive) {
          await h.rt.stop(root as Pid, Reason.shutdown());
          model.stopAll(model.root);
          expect(w.journal).toEqual(model.journal);
        }
        expect(h.rt.processCount).toBe(1); // only the parent
        expect(h.clock.pending).toBe(0);
        expect(w.openResources()).toBe(0);
        expect(h.rt.registry.registered()).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it("temporary children never restart and transient ones restart only after abnormal exits", async () => {
    const restartsOf = fc.constantFrom<RestartType>("transient", "temporary");
    await fc.assert(
      fc.asyncProperty(strategyArb, fc.array(restartsOf, { minLength: 1, maxLength: 4 }), fc.constantFrom<CrashKind>("normal", "shutdown", "shutdown_detail", "error", "kill"), fc.nat(), async (strategy, restarts, crash, pick) => {
        const h = harness();
        const w = world(h);
        const ids = restarts.map((_, i) => `c${i}`);
        await startSupervisor(supervisorSpec({ strategy, intensity: 10, children: ids.map((id, i) => w.worker(id, { restart: restarts[i] as RestartType })) }), { runtime: h.rt });
        const index = pick % ids.length;
        const id = ids[index] as string;
        w.take();
        if (crash === "kill") h.rt.exit(w.pidOf(id) as Pid, Reason.kill);
        else w.crash(id, reasonOf(crash));
        await h.settle();
        const restarted = w.take().includes(`start:${id}`);
        const abnormal = crash === "error" || crash === "kill";
        expect(restarted).toBe(restarts[index] === "transient" && abnormal);
      }),
      { numRuns: 100 },
    );
  });
});
