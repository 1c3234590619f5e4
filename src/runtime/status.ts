/** Process lifecycle states (small integers: checked on every message). */
export const IDLE = 0; // alive, waiting for or queued with messages
export const RUNNING = 1; // inside a synchronous handler
export const AWAITING = 2; // an async handler is pending: no other message is handled
export const EXITING = 3; // terminate is running; messages are dropped, signals still arrive
export const DEAD = 4;

export type ProcStatus = typeof IDLE | typeof RUNNING | typeof AWAITING | typeof EXITING | typeof DEAD;

export type StatusName = "waiting" | "runnable" | "running" | "awaiting" | "starting" | "exiting" | "dead";
