/** The runtime's event stream (for the dashboard, metrics, chaos reports). */
import type { Pid } from "./pid.js";
import type { ExitReason } from "./reason.js";

export type RuntimeEvent =
  | { readonly type: "spawned"; readonly pid: Pid; readonly behaviour: string; readonly parent: Pid | undefined }
  | { readonly type: "exited"; readonly pid: Pid; readonly behaviour: string; readonly reason: ExitReason }
  | {
      readonly type: "restarted";
      readonly supervisor: Pid;
      readonly childId: string;
      /** Undefined when the restarted child's start returned ignore. */
      readonly pid: Pid | undefined;
      readonly restarts: number;
      /** The exit that caused the restart. */
      readonly reason: ExitReason;
    }
  | {
      /**
       * A restart's start failed (OTP's start_error: the new child was killed during its
       * init, its init returned an error, it timed out). A retry is queued: under one_for_one
       * and rest_for_one, one exit followed by k failed attempts shows as k restartFailed and
       * one restarted, or an escalated if the retries reach the restart intensity.
       */
      readonly type: "restartFailed";
      readonly supervisor: Pid;
      readonly childId: string;
      readonly restarts: number;
      /** Why the start failed. */
      readonly reason: ExitReason;
    }
  | {
      readonly type: "escalated";
      readonly supervisor: Pid;
      /** Why the supervisor gives up and exits shutdown, handing the decision to its parent. */
      readonly cause: "reached_max_restart_intensity" | "auto_shutdown";
      readonly restarts: number;
    };

export type EventListener = (event: RuntimeEvent) => void;

export class EventHub {
  private listeners: readonly EventListener[] = [];

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** True if anyone listens (emitters skip building events otherwise). */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: RuntimeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
