/**
 * Whether we let this peer download from us, until the choker (issue 6) decides across
 * peers: every interested peer is unchoked, and a peer that loses interest is choked
 * again so a later choker starts from "unchoked = interested". A pure function of the
 * link's flags, so the choker can replace it without touching the actor.
 */
import type { LinkFlags } from "./machine.js";

export type UploadSlotDecision =
  | { readonly kind: "unchoke"; readonly why: "interested" }
  | { readonly kind: "choke"; readonly why: "notInterested" }
  | { readonly kind: "keep" };

const UNCHOKE: UploadSlotDecision = { kind: "unchoke", why: "interested" };
const CHOKE: UploadSlotDecision = { kind: "choke", why: "notInterested" };
const KEEP: UploadSlotDecision = { kind: "keep" };

export function uploadSlot(flags: Pick<LinkFlags, "amChoking" | "peerInterested">): UploadSlotDecision {
  if (flags.peerInterested && flags.amChoking) return UNCHOKE;
  if (!flags.peerInterested && !flags.amChoking) return CHOKE;
  return KEEP;
}
