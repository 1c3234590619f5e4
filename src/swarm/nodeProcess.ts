/**
 * The child side of process mode (`swarmsup swarm-node`, hidden): one swarm member in its
 * own OS process, as in production, driven over Node's IPC channel. It waits for `start`
 * with its plan, runs the agent, forwards every report, and on `stop` sends `final` and
 * exits 0. If the parent goes away (the channel closes) it stops its node and exits, so a
 * crashed parent leaves no orphans. Any failure is reported as `failed` and exits 1.
 */
import { log } from "../log.js";
import { startAgent, type Agent } from "./agent.js";
import { readCommand, type NodeReport } from "./messages.js";

/** Resolves with the process's exit code once the member has stopped. */
export function runNodeProcess(): Promise<number> {
  const send = process.send?.bind(process);
  if (send === undefined) return Promise.reject(new Error("swarm-node runs only as a child of `swarmsup swarm --mode process` (no IPC channel)"));
  const emit = (report: NodeReport): void => {
    if (process.connected) send(report);
  };
  return new Promise((resolve) => {
    let agent: Promise<Agent> | undefined;
    let ending = false;
    const end = async (code: number, final: boolean): Promise<void> => {
      if (ending) return;
      ending = true;
      try {
        const a = await agent;
        const result = await a?.stop();
        if (final && result !== undefined) await new Promise<void>((done) => (process.connected ? send({ t: "final", final: result } satisfies NodeReport, () => done()) : done()));
      } catch (error) {
        emit({ t: "failed", message: error instanceof Error ? error.message : String(error) });
        code = 1;
      }
      process.disconnect?.();
      resolve(code);
    };
    process.on("message", (raw: unknown) => {
      try {
        const command = readCommand(raw);
        switch (command.t) {
          case "start":
            if (agent !== undefined) throw new Error("started twice");
            agent = startAgent(command.plan, emit);
            agent.catch((error: unknown) => {
              emit({ t: "failed", message: error instanceof Error ? error.message : String(error) });
              agent = undefined;
              void end(1, false);
            });
            return;
          case "stop":
            void end(0, true);
            return;
          default: {
            const never: never = command;
            throw new Error(`unknown command ${JSON.stringify(never)}`);
          }
        }
      } catch (error) {
        log.error({ err: error }, "swarm-node: bad command from the parent");
        emit({ t: "failed", message: error instanceof Error ? error.message : String(error) });
        void end(1, false);
      }
    });
    process.on("disconnect", () => void end(0, false));
  });
}
