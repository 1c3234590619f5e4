/**
 * Whether we let this peer download from us. Two deciders, both pure:
 * - `uploadSlot`: when the node runs no choker (a peer started alone, as in the actor
 *   tests): every interested peer is unchoked, and a peer that loses interest is choked.
 * - `obeyChoker`: when it does (actors/choker.ts decides across the node's peers): what the
 *   choker's command changes on this link; a command that repeats the link's state is kept.
 */
import type { ChokerCommand } from "../choker/messages.js";
import type { LinkFlags } from "./machine.js";

export type UploadSlotDecision =
  | { readonly kind: "unchoke"; readonly why: "interested" | "choker" }
  | { readonly kind: "choke"; readonly why: "notInterested" | "choker" }
  | { readonly kind: "keep" };

const UNCHOKE: UploadSlotDecision = { kind: "unchoke", why: "interested" };
const CHOKE: UploadSlotDecision = { kind: "choke", why: "notInterested" };
const CHOKER_UNCHOKES: UploadSlotDecision = { kind: "unchoke", why: "choker" };
const CHOKER_CHOKES: UploadSlotDecision = { kind: "choke", why: "choker" };
const KEEP: UploadSlotDecision = { kind: "keep" };

export function uploadSlot(flags: Pick<LinkFlags, "amChoking" | "peerInterested">): UploadSlotDecision {
  if (flags.peerInterested && flags.amChoking) return UNCHOKE;
  if (!flags.peerInterested && !flags.amChoking) return CHOKE;
  return KEEP;
}

export function obeyChoker(flags: Pick<LinkFlags, "amChoking">, command: Extract<ChokerCommand, { type: "choke" | "unchoke" }>): UploadSlotDecision {
  if (command.type === "unchoke") return flags.amChoking ? CHOKER_UNCHOKES : KEEP;
  return flags.amChoking ? KEEP : CHOKER_CHOKES;
}
