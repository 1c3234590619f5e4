/**
 * Whether we want anything from a peer: some piece it has that we lack. The answer is a
 * machine event only when it differs from the link's current flag, so the machine is fed
 * changes, never confirmations.
 */

import type { Bitfield } from "../../src/protocol/wire/index.js";
import type { LinkEventOf } from "./machine.js";

export type InterestEvent = LinkEventOf<"BECOME_INTERESTED" | "LOSE_INTEREST">;

const BECOME: LinkEventOf<"BECOME_INTERESTED"> = { type: "BECOME_INTERESTED" };
const LOSE: LinkEventOf<"LOSE_INTEREST"> = { type: "LOSE_INTEREST" };

/**
 * The interest event `theirs` calls for, given `ours` and the link's current flag, or
 * undefined when the flag is already right. Call it after their pieces change (the
 * analyzer does) and after ours do (a piece verified: we may have nothing left to want).
 */
export function interestChange(ours: Bitfield, theirs: Bitfield, amInterested: boolean): InterestEvent | undefined {
  const wanted = ours.firstMissingFrom(theirs) >= 0;
  if (wanted === amInterested) return undefined;
  return wanted ? BECOME : LOSE;
}

/** One more piece of theirs: interesting exactly when we lack it and were not interested. */
export function interestInPiece(ours: Bitfield, index: number, amInterested: boolean): LinkEventOf<"BECOME_INTERESTED"> | undefined {
  return amInterested || ours.has(index) ? undefined : BECOME;
}
