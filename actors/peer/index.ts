/** The peer link's pure core: the lifecycle machine, the wire analyzer, the request pipeline and clocks. */
export * from "./machine.js";
export * from "./analyze.js";
export * from "./interest.js";
export * from "./requests.js";
export * from "./pipeline.js";
export * from "./rateMeter.js";
export * from "./liveness.js";
