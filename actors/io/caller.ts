/** Who calls into the IO layer: an actor (its Ctx) or, from outside any actor, a runtime. */
import { Runtime, type Ctx } from "../../src/runtime/index.js";

export type IoCaller = Ctx | Runtime;

export function runtimeOf(via: IoCaller): Runtime {
  return via instanceof Runtime ? via : via.runtime;
}

/** False once the calling actor exited: its pending work is abandoned, as the runtime abandons its calls. */
export function callerAlive(via: IoCaller): boolean {
  return via instanceof Runtime ? true : via.runtime.isAlive(via.self);
}
