/**
 * A node's profile: the settings that change together when a node runs on a trusted,
 * fast network instead of the open internet.
 *
 * - default: tit-for-tat choking (4 slots + 1 optimistic), 60 s snub, the tracker's interval.
 * - datacenter (the eBay / Murder / Kraken fan-out setting): every interested peer unchoked
 *   up to 64 per torrent, no optimistic slot; a peer that leaves our requests unanswered
 *   for 5 s is snubbed (a healthy peer on a LAN answers in milliseconds); re-announce every
 *   3 s so new servers find each other at once (a tracker's `min interval` still holds).
 */
import type { LivenessConfig } from "../peer/liveness.js";
import { DATACENTER_LIVENESS } from "../peer/liveness.js";
import type { ChokerOptions, Profile } from "./config.js";

export interface ProfileSettings {
  readonly choker: ChokerOptions;
  readonly liveness: Partial<LivenessConfig>;
  /** Replaces the tracker's `interval`; undefined: the tracker decides. */
  readonly announceIntervalOverrideMs: number | undefined;
}

export function profileSettings(profile: Profile): ProfileSettings {
  switch (profile) {
    case "default":
      return { choker: { profile }, liveness: {}, announceIntervalOverrideMs: undefined };
    case "datacenter":
      return { choker: { profile }, liveness: { snubTimeoutMs: DATACENTER_LIVENESS.snubTimeoutMs }, announceIntervalOverrideMs: 3000 };
    default: {
      const unreachable: never = profile;
      throw new RangeError(`unknown profile ${String(unreachable)}`);
    }
  }
}
