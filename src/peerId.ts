/**
 * Our peer id (BEP 20 Azureus style): "-SS0100-" (client SS, version 0.1.0.0) followed by
 * 12 random printable bytes. A fresh id per node run, so two nodes in one process (swarm
 * mode) and a node talking to itself can tell each other apart in the handshake.
 */
import { randomBytes } from "node:crypto";

export const PEER_ID_PREFIX = "-SS0100-";
export const PEER_ID_LENGTH = 20;

/** 64 symbols, so `byte & 63` picks one without bias. */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.";

/** `random` is injectable so tests and seeded chaos replays get reproducible ids. */
export function makePeerId(random: (size: number) => Buffer = randomBytes): Buffer {
  const tail = random(PEER_ID_LENGTH - PEER_ID_PREFIX.length);
  let text = PEER_ID_PREFIX;
  for (const byte of tail) text += ALPHABET[byte & 63];
  return Buffer.from(text, "latin1");
}
