/**
 * A torrent's lifecycle: checking -> leeching -> seeding, and stopped (final) from any of
 * them. Fed only phase changes (a check finished, the last piece was written, a stop), never
 * per-piece events: the controller counts pieces in plain code.
 */
import { setup, type SnapshotFrom } from "xstate";

export type TorrentPhase = "checking" | "leeching" | "seeding" | "stopped";

export type TorrentEvent =
  | { readonly type: "CHECKED"; readonly complete: boolean }
  | { readonly type: "DOWNLOAD_COMPLETE" }
  | { readonly type: "STOP" };

export const torrentMachine = setup({
  types: { events: {} as TorrentEvent },
  guards: {
    checkedComplete: ({ event }) => event.type === "CHECKED" && event.complete,
  },
}).createMachine({
  id: "torrent",
  initial: "checking",
  states: {
    checking: {
      on: {
        CHECKED: [{ guard: "checkedComplete", target: "seeding" }, { target: "leeching" }],
        STOP: "stopped",
      },
    },
    leeching: { on: { DOWNLOAD_COMPLETE: "seeding", STOP: "stopped" } },
    seeding: { on: { STOP: "stopped" } },
    stopped: { type: "final" },
  },
});

export function phaseOf(snapshot: SnapshotFrom<typeof torrentMachine>): TorrentPhase {
  return snapshot.value as TorrentPhase;
}
