/** The usage example given in the runtime's report, kept true by running it (default runtime, real clock). */
import { expect, it } from "vitest";
import {
  call, cast, defineServer, DownMsg, exit, noreply, ok, Reason, reply, settle,
  startServer, startSupervisor, stopProcess, supervisorSpec, whereis, type Pid,
} from "../../src/runtime/index.js";

it("the usage example runs", async () => {
  // A gen_server: state, call and cast.
  const counter = defineServer<number, number, "get", "inc">({
    name: "counter",
    init: (start) => ok(start),
    handleCall: (_req, _from, n) => reply(n, n),
    handleCast: (_msg, n) => noreply(n + 1),
  });
  // A supervisor spec with two children, as plain data.
  const sup = await startSupervisor(supervisorSpec({
    name: "demo_sup", strategy: "one_for_one", intensity: 3, period: 5000,
    children: [
      { id: "a", start: () => startServer(counter, 0, { name: "a" }) },
      { id: "b", start: () => startServer(counter, 10, { name: "b" }), restart: "transient" },
    ],
  }));
  cast("a", "inc");
  expect(await call("a", "get")).toBe(1);
  // A monitor, from another actor.
  const downs: DownMsg[] = [];
  const watcher = (await startServer(defineServer<null>({
    name: "watcher",
    init: (_args, ctx) => (ctx.monitor(whereis("b") as Pid), ok(null)),
    handleInfo: (msg, state) => (msg instanceof DownMsg && downs.push(msg), noreply(state)),
  }), undefined)) as Pid;

  const b = whereis("b") as Pid;
  exit(b, Reason.error("boom"));
  await settle();
  expect(downs.map((d) => d.reason.kind)).toEqual(["error"]);
  expect(whereis("b")).not.toBe(b); // restarted: transient child, abnormal exit
  expect(await call("b", "get")).toBe(10);
  await stopProcess(watcher, Reason.shutdown());
  await stopProcess(sup, Reason.shutdown());
  expect(whereis("a")).toBeUndefined();
});
